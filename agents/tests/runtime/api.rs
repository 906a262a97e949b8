//! The WebSocket API over a real socket: requests and responses, the model's text streamed as
//! events while it is generated, tokens and scopes, and malformed frames.

use std::collections::BTreeMap;

use autonet_agents::api::ws::{Access, router};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{Scripted, runtime};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn serve(rt: autonet_agents::runtime::Runtime, access: Access) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(rt, access)).await });
    format!("ws://{addr}/ws")
}

async fn connect(url: &str, token: Option<&str>) -> Result<Socket, String> {
    let mut request = url.into_client_request().unwrap();
    if let Some(t) = token {
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(s, _)| s)
        .map_err(|e| e.to_string())
}

/// Sends a request and returns its response, collecting pushed events meanwhile.
async fn ask(socket: &mut Socket, request: Value, events: &mut Vec<Value>) -> Value {
    let id = request["msg_id"].clone();
    socket
        .send(Message::Text(request.to_string().into()))
        .await
        .unwrap();
    next_reply(socket, &id, events).await
}

async fn next_reply(socket: &mut Socket, id: &Value, events: &mut Vec<Value>) -> Value {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(60), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
        if v["type"] == "event" {
            events.push(v);
        } else if &v["msg_id"] == id {
            return v;
        } else {
            panic!("unexpected frame {v}");
        }
    }
}

#[tokio::test]
async fn a_run_streams_its_text_over_the_websocket_and_bad_frames_get_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), Scripted::new(&["Hello from the agent."])).await;
    let url = serve(
        rt,
        Access {
            owner_token: Some("owner-secret".into()),
            scoped: BTreeMap::new(),
        },
    )
    .await;
    assert!(connect(&url, None).await.is_err(), "no token: refused");
    assert!(
        connect(&url, Some("wrong")).await.is_err(),
        "wrong token: refused"
    );
    let mut ws = connect(&url, Some("owner-secret")).await.unwrap();
    let mut events = Vec::new();

    let def = json!({"id": "greeter", "system_prompt": "Be brief.", "task_prompt": "Say hello."});
    let r = ask(
        &mut ws,
        json!({"type": "create_agent", "msg_id": "1", "definition": def}),
        &mut events,
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    let r = ask(
        &mut ws,
        json!({"type": "run_agent", "msg_id": 2, "agent_id": "greeter"}),
        &mut events,
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    // Wait for the run's end, pushed as an event; the text came before it as step.output.
    while !events
        .iter()
        .any(|e| e["event_type"] == "execution.completed")
    {
        let frame = ws.next().await.unwrap().unwrap();
        events.push(serde_json::from_str(frame.to_text().unwrap()).unwrap());
    }
    let streamed: String = events
        .iter()
        .filter(|e| e["event_type"] == "step.output")
        .map(|e| e["data"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(streamed, "Hello from the agent.");
    let r = ask(
        &mut ws,
        json!({"type": "get_agent", "msg_id": "3", "agent_id": "greeter"}),
        &mut events,
    )
    .await;
    assert_eq!(
        r["result"]["agent"]["last_output"], "Hello from the agent.",
        "{r}"
    );
    let r = ask(
        &mut ws,
        json!({"type": "history", "msg_id": "4", "agent_id": "greeter"}),
        &mut events,
    )
    .await;
    assert_eq!(r["result"].as_array().unwrap().len(), 1, "{r}");

    // Bad input: each gets an error response, and the session goes on.
    for (frame, want) in [
        ("{not json".to_string(), "not JSON"),
        ("[1,2]".to_string(), "a request is a JSON object"),
        (json!({"type": "list_agents"}).to_string(), "msg_id"),
        (json!({"type": "fly", "msg_id": "x"}).to_string(), "unknown request type"),
        (json!({"type": "run_agent", "msg_id": "x", "agent_id": "nobody"}).to_string(), "no agent"),
        (json!({"type": "run_agent", "msg_id": "x"}).to_string(), "missing string field"),
        (json!({"type": "create_agent", "msg_id": "x", "definition": {"id": "bad id"}}).to_string(), "agent definition"),
        (json!({"type": "post_message", "msg_id": "x", "target": "greeter", "text": "hi", "priority": "asap"}).to_string(), "priority"),
    ] {
        ws.send(Message::Text(frame.clone().into())).await.unwrap();
        let id = serde_json::from_str::<Value>(&frame).ok().and_then(|v| v.get("msg_id").cloned()).filter(|_| !want.contains("msg_id")).unwrap_or(Value::Null);
        let r = next_reply(&mut ws, &id, &mut events).await;
        assert_eq!(r["ok"], false, "{frame}: {r}");
        assert!(r["error"].as_str().unwrap().contains(want), "{frame}: {r}");
    }
    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    let r = next_reply(&mut ws, &Value::Null, &mut events).await;
    assert!(r["error"].as_str().unwrap().contains("text frames"));
    let r = ask(
        &mut ws,
        json!({"type": "list_agents", "msg_id": "alive"}),
        &mut events,
    )
    .await;
    assert_eq!(r["ok"], true, "the session survived: {r}");
}

#[tokio::test]
async fn a_scoped_token_reaches_only_its_subtree() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path(), Scripted::new(&["ok"])).await;
    rt.register(autonet_agents::AgentDefinition::new("mine", "", ""))
        .await
        .unwrap();
    rt.register(autonet_agents::AgentDefinition::new("theirs", "", ""))
        .await
        .unwrap();
    let url = serve(
        rt,
        Access {
            owner_token: Some("owner".into()),
            scoped: BTreeMap::from([("alice".to_string(), "mine".to_string())]),
        },
    )
    .await;
    let mut ws = connect(&url, Some("alice")).await.unwrap();
    let mut events = Vec::new();
    let r = ask(
        &mut ws,
        json!({"type": "list_agents", "msg_id": 1}),
        &mut events,
    )
    .await;
    let ids: Vec<&str> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mine"]);
    let r = ask(
        &mut ws,
        json!({"type": "run_agent", "msg_id": 2, "agent_id": "theirs"}),
        &mut events,
    )
    .await;
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("outside this session's scope"),
        "{r}"
    );
    let child = json!({"id": "helper", "parent_id": "mine"});
    let r = ask(
        &mut ws,
        json!({"type": "create_agent", "msg_id": 3, "definition": child}),
        &mut events,
    )
    .await;
    assert_eq!(r["ok"], true, "a child under its own agent: {r}");
    let root = json!({"id": "rogue"});
    let r = ask(
        &mut ws,
        json!({"type": "create_agent", "msg_id": 4, "definition": root}),
        &mut events,
    )
    .await;
    assert_eq!(r["ok"], false, "{r}");
    let r = ask(
        &mut ws,
        json!({"type": "post_message", "msg_id": 5, "target": "theirs", "text": "x"}),
        &mut events,
    )
    .await;
    assert_eq!(r["ok"], false, "{r}");
}
