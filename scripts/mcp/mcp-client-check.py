"""Checks autonet's MCP server with the official `mcp` Python client: lists the built-in tools,
calls infer and post_message, and expects a JSON-RPC error for bad arguments.

    mcp-client-check.py stdio AUTONET_BINARY [ARGS...]   # starts `AUTONET_BINARY ARGS...`
    mcp-client-check.py http URL TOKEN

Prints one JSON line with what it saw (the Rust test reads it) and exits 0, or exits 1 with
the reason on stderr.
"""
import asyncio
import json
import sys

import httpx2
from mcp import ClientSession, MCPError
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

def is_error(result):
    """The result's error flag (`isError` on the wire; the attribute's name differs across
    versions of the client)."""
    return getattr(result, "isError", None) or getattr(result, "is_error", False)


EXPECTED = {"infer", "model_status", "balance", "post_message", "delegate", "submit_trace"}


def fail(reason):
    print(f"mcp-client-check: {reason}", file=sys.stderr)
    sys.exit(1)


def text_of(result):
    return "\n".join(block.text for block in result.content if block.type == "text")


async def check(session):
    await session.initialize()
    names = {tool.name for tool in (await session.list_tools()).tools}
    if names != EXPECTED:
        fail(f"tools {sorted(names)}, expected {sorted(EXPECTED)}")

    answer = await session.call_tool("infer", {"query": "Share knowledge freely with everyone"})
    if is_error(answer):
        fail(f"infer failed: {text_of(answer)}")
    inference = json.loads(text_of(answer))
    if inference.get("mode") != "general":
        fail(f"infer answered {inference}")

    posted = await session.call_tool(
        "post_message", {"to": "worker-1", "text": "hello from python", "priority": "high"})
    if is_error(posted):
        fail(f"post_message failed: {text_of(posted)}")
    posted = json.loads(text_of(posted))

    balance = await session.call_tool("balance", {})
    if not is_error(balance):
        fail(f"balance without a chain answered {text_of(balance)}")

    try:
        bad = await session.call_tool("infer", {"query": 42})
        fail(f"bad arguments were accepted: {bad}")
    except MCPError as e:
        bad_error = {"code": e.code, "message": e.message}

    print(json.dumps({"tools": sorted(names), "infer_mode": inference["mode"], "posted": posted,
                      "balance_error": text_of(balance), "bad_arguments": bad_error}))


async def main():
    mode = sys.argv[1]
    if mode == "stdio":
        params = StdioServerParameters(command=sys.argv[2], args=sys.argv[3:])
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await check(session)
    elif mode == "http":
        url, token = sys.argv[2], sys.argv[3]
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                      timeout=60) as client:
            async with streamable_http_client(url, http_client=client) as (read, write):
                async with ClientSession(read, write) as session:
                    await check(session)
    else:
        fail(f"unknown mode {mode}")


asyncio.run(main())
