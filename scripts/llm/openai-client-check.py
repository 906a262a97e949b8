#!/usr/bin/env python3
"""Checks an OpenAI-compatible endpoint with the official `openai` client (PyPI).

Usage: openai-client-check.py BASE_URL [API_KEY]

Lists the models, asks one question whole and streamed (greedy, so both answers must be equal),
asks with usage in the stream, and checks that a request for an unknown model is refused as the
hosted API refuses it (BadRequestError). Prints one JSON object; exits non-zero on any mismatch.
"""
import json
import sys

import openai


def main():
    base_url = sys.argv[1]
    api_key = sys.argv[2] if len(sys.argv) > 2 else "unused"
    client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=300)
    models = [m.id for m in client.models.list().data]
    assert len(models) == 1, models
    model = models[0]
    messages = [{"role": "user", "content": "What is the capital of France? One word."}]
    whole = client.chat.completions.create(model=model, messages=messages, max_tokens=8, temperature=0)
    text = whole.choices[0].message.content
    assert whole.choices[0].message.role == "assistant"
    assert whole.usage.completion_tokens >= 1, whole.usage
    pieces = []
    finish = None
    usage = None
    stream = client.chat.completions.create(
        model=model, messages=messages, max_tokens=8, temperature=0, stream=True,
        stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
            if choice.finish_reason:
                finish = choice.finish_reason
    streamed = "".join(pieces)
    assert streamed == text, (streamed, text)
    assert finish in ("stop", "length"), finish
    assert usage is not None and usage.completion_tokens == whole.usage.completion_tokens, usage
    try:
        client.chat.completions.create(model="no-such-model", messages=messages, max_tokens=4)
        raise AssertionError("an unknown model was accepted")
    except openai.BadRequestError as e:
        refused = str(e)
    print(json.dumps({"model": model, "text": text, "streamed_pieces": len(pieces),
                      "finish_reason": finish, "usage": usage.model_dump(), "refused": refused[:200]}))


if __name__ == "__main__":
    main()
