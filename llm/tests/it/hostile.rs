//! Remote providers that misbehave: garbage, silence, endless streams, error statuses; the
//! Anthropic wire format; fallback past a dead provider. The servers here are local axum apps
//! that speak each API's wire format (the hosted APIs cannot be called from CI).

use std::time::Duration;

use autonet_llm::anthropic::{Anthropic, AnthropicConfig};
use autonet_llm::openai::{OpenAi, OpenAiConfig};
use autonet_llm::{ChatRequest, Fallback, FinishReason, Limits, LlmError, Message, Provider};
use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use futures::stream;

fn sse(body: Body) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(body)
        .unwrap()
}

/// An Anthropic Messages stream as the API sends it (event names and JSON shapes of the
/// streaming documentation).
const ANTHROPIC_STREAM: &str = concat!(
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: ping\ndata: {\"type\": \"ping\"}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\", world\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
);

async fn serve() -> String {
    let app = Router::new()
        .route("/garbage/chat/completions", post(|| async { sse(Body::from("data: {not json\n\n")) }))
        .route(
            "/hang/chat/completions",
            post(|| async { sse(Body::from_stream(stream::pending::<Result<Vec<u8>, std::io::Error>>())) }),
        )
        .route(
            "/endless/chat/completions",
            post(|| async {
                let chunk = "data: {\"choices\":[{\"delta\":{\"content\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}]}\n\n";
                sse(Body::from_stream(stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.repeat(200)))))
            }),
        )
        .route(
            "/down/chat/completions",
            post(|| async { (StatusCode::SERVICE_UNAVAILABLE, "overloaded: try later".repeat(100)) }),
        )
        .route("/cut/chat/completions", post(|| async { sse(Body::from("data: {\"choices\":[{\"delta\":{\"content\":\"half\"}}]}\n\n")) }))
        .route(
            "/v1/messages",
            post(|headers: axum::http::HeaderMap| async move {
                if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some("k")
                    || headers.get("anthropic-version").is_none()
                {
                    return (StatusCode::UNAUTHORIZED, "bad key").into_response_parts();
                }
                sse(Body::from(ANTHROPIC_STREAM))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

trait IntoParts {
    fn into_response_parts(self) -> Response;
}

impl IntoParts for (StatusCode, &'static str) {
    fn into_response_parts(self) -> Response {
        axum::response::IntoResponse::into_response(self)
    }
}

fn openai(base: &str, path: &str, idle: Duration) -> OpenAi {
    let config = OpenAiConfig {
        name: path.into(),
        base_url: format!("{base}/{path}"),
        model: "m".into(),
        api_key: None,
    };
    OpenAi::new(
        config,
        Limits {
            idle,
            ..Limits::default()
        },
    )
    .unwrap()
}

fn hello() -> ChatRequest {
    ChatRequest::new(vec![Message::system("Be brief."), Message::user("hi")], 32)
}

#[tokio::test]
async fn each_misbehaviour_is_a_clear_error_and_never_a_hang() {
    let base = serve().await;
    let idle = Duration::from_millis(500);
    let garbage = openai(&base, "garbage", idle)
        .chat(hello())
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        matches!(garbage, Err(LlmError::Garbage { .. })),
        "{garbage:?}"
    );
    let hang = openai(&base, "hang", idle)
        .chat(hello())
        .await
        .unwrap()
        .collect()
        .await;
    assert!(matches!(hang, Err(LlmError::Timeout(..))), "{hang:?}");
    let endless = openai(&base, "endless", Duration::from_secs(30))
        .chat(hello())
        .await
        .unwrap()
        .collect()
        .await;
    assert!(
        matches!(&endless, Err(LlmError::Transport { message, .. }) if message.contains("exceeded")),
        "{endless:?}"
    );
    match openai(&base, "down", idle).chat(hello()).await {
        Err(LlmError::Status {
            status: 503, body, ..
        }) => assert!(body.len() <= 512 && body.starts_with("overloaded")),
        other => panic!("{other:?}"),
    }
    let cut = openai(&base, "cut", idle)
        .chat(hello())
        .await
        .unwrap()
        .collect()
        .await;
    assert!(matches!(cut, Err(LlmError::Interrupted(_))), "{cut:?}");
}

#[tokio::test]
async fn the_anthropic_stream_is_read_with_usage_and_stop_reason() {
    let base = serve().await;
    let config = AnthropicConfig {
        name: "anthropic".into(),
        base_url: base.clone(),
        model: "claude".into(),
        api_key: "k".into(),
    };
    let answer = Anthropic::new(config.clone(), Limits::default())
        .unwrap()
        .chat(hello())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(answer.text, "Hello, world");
    assert_eq!(answer.finish.reason, Some(FinishReason::Stop));
    assert_eq!(
        (answer.finish.prompt_tokens, answer.finish.completion_tokens),
        (25, 15)
    );
    let wrong = AnthropicConfig {
        api_key: "nope".into(),
        ..config
    };
    assert!(matches!(
        Anthropic::new(wrong, Limits::default())
            .unwrap()
            .chat(hello())
            .await,
        Err(LlmError::Status { status: 401, .. })
    ));
}

#[tokio::test]
async fn a_fallback_moves_past_dead_providers_but_not_past_a_bad_request() {
    let base = serve().await;
    // A port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let dead = OpenAi::new(
        OpenAiConfig {
            name: "dead".into(),
            base_url: format!("http://{closed}/v1"),
            model: "m".into(),
            api_key: None,
        },
        Limits::default(),
    )
    .unwrap();
    let config = AnthropicConfig {
        name: "anthropic".into(),
        base_url: base.clone(),
        model: "c".into(),
        api_key: "k".into(),
    };
    let chain = Fallback::new(vec![
        std::sync::Arc::new(dead),
        std::sync::Arc::new(openai(&base, "down", Duration::from_secs(5))),
        std::sync::Arc::new(Anthropic::new(config, Limits::default()).unwrap()),
    ])
    .unwrap();
    let answer = chain.chat(hello()).await.unwrap().collect().await.unwrap();
    assert_eq!(
        (answer.provider.as_str(), answer.text.as_str()),
        ("anthropic", "Hello, world")
    );
    let invalid = ChatRequest::new(vec![], 8);
    assert!(matches!(
        chain.chat(invalid).await,
        Err(LlmError::Invalid(_))
    ));
}
