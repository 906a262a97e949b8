//! An OpenAI-compatible endpoint over any [`Provider`]: `POST /v1/chat/completions` (whole or
//! streamed as server-sent events, as the OpenAI API does) and `GET /v1/models`. Errors use
//! OpenAI's error shape, so the official clients report them as they would the hosted API's.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::Stream;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{ChatRequest, ChatStream, LlmError, Message, Piece, Provider, Role};

/// What the endpoint serves.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Answers every request.
    pub provider: Arc<dyn Provider>,
    /// The model id clients see in `/v1/models` and in answers.
    pub model: String,
    /// When set, requests need `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// The most bytes a request body may have.
    pub max_body: usize,
    /// `max_tokens` when a request gives none.
    pub default_max_tokens: u32,
}

/// The routes, ready to serve or to nest in a bigger router.
pub fn router(endpoint: Endpoint) -> Router {
    let max_body = endpoint.max_body;
    Router::new()
        .route("/v1/chat/completions", post(completions))
        .route("/v1/models", get(models))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(Arc::new(endpoint))
}

fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body =
        json!({"error": {"message": message.into(), "type": kind, "param": null, "code": null}});
    (status, Json(body)).into_response()
}

fn llm_error(e: &LlmError) -> Response {
    match e {
        LlmError::Invalid(_) => error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            e.to_string(),
        ),
        LlmError::Timeout(..) => error(StatusCode::GATEWAY_TIMEOUT, "timeout", e.to_string()),
        // OpenAI's clients retry a 429 with backoff, which is what a busy model wants.
        LlmError::Busy(..) => error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            e.to_string(),
        ),
        _ => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "provider_error",
            e.to_string(),
        ),
    }
}

fn authorized(endpoint: &Endpoint, headers: &HeaderMap) -> bool {
    let Some(token) = &endpoint.token else {
        return true;
    };
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Constant-time enough for a token of fixed length: compare every byte.
    given.is_some_and(|g| {
        g.len() == token.len()
            && g.bytes()
                .zip(token.bytes())
                .fold(0, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
}

async fn models(State(endpoint): State<Arc<Endpoint>>, headers: HeaderMap) -> Response {
    if !authorized(&endpoint, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "missing or wrong bearer token",
        );
    }
    Json(json!({"object": "list", "data": [{"id": endpoint.model, "object": "model", "created": 0, "owned_by": "autonet"}]}))
        .into_response()
}

/// The request body: OpenAI's shape, the fields this endpoint honours.
#[derive(Deserialize)]
struct Body {
    messages: Vec<BodyMessage>,
    model: Option<String>,
    max_tokens: Option<u32>,
    max_completion_tokens: Option<u32>,
    temperature: Option<f32>,
    seed: Option<u64>,
    #[serde(default)]
    stream: bool,
    stream_options: Option<StreamOptions>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

#[derive(Deserialize)]
struct BodyMessage {
    role: String,
    content: Content,
}

/// A message's content: a string, or a list of parts of which only text is understood.
#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
struct Part {
    #[serde(rename = "type")]
    kind: String,
    text: Option<String>,
}

fn to_request(endpoint: &Endpoint, body: Body) -> Result<(ChatRequest, bool, bool), String> {
    let mut messages = Vec::with_capacity(body.messages.len());
    for m in body.messages {
        let role = match m.role.as_str() {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => return Err(format!("unsupported role {other:?}")),
        };
        let content = match m.content {
            Content::Text(t) => t,
            Content::Parts(parts) => {
                let mut text = String::new();
                for part in parts {
                    match (part.kind.as_str(), part.text) {
                        ("text", Some(t)) => text.push_str(&t),
                        (kind, _) => {
                            return Err(format!("unsupported content part {kind:?}: only text"));
                        }
                    }
                }
                text
            }
        };
        messages.push(Message { role, content });
    }
    if let Some(model) = &body.model
        && model != &endpoint.model
    {
        return Err(format!(
            "unknown model {model:?}; this endpoint serves {:?}",
            endpoint.model
        ));
    }
    let mut request = ChatRequest::new(
        messages,
        body.max_completion_tokens
            .or(body.max_tokens)
            .unwrap_or(endpoint.default_max_tokens),
    );
    request.temperature = body.temperature.unwrap_or(0.0);
    request.seed = body.seed.unwrap_or(0);
    let usage = body.stream_options.is_some_and(|o| o.include_usage);
    Ok((request, body.stream, usage))
}

async fn completions(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: Result<Json<Body>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if !authorized(&endpoint, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "missing or wrong bearer token",
        );
    }
    let body = match body {
        Ok(Json(body)) => body,
        Err(rejection) => {
            return error(
                rejection.status(),
                "invalid_request_error",
                rejection.body_text(),
            );
        }
    };
    let (request, stream, usage) = match to_request(&endpoint, body) {
        Ok(parsed) => parsed,
        Err(message) => return error(StatusCode::BAD_REQUEST, "invalid_request_error", message),
    };
    let answer = match endpoint.provider.chat(request).await {
        Ok(answer) => answer,
        Err(e) => return llm_error(&e),
    };
    let id = format!("chatcmpl-{}", now_nanos());
    if stream {
        return Sse::new(chunks(answer, id, endpoint.model.clone(), usage)).into_response();
    }
    match answer.collect().await {
        Ok(done) => Json(json!({
            "id": id, "object": "chat.completion", "created": now_secs(), "model": endpoint.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": done.text},
                         "finish_reason": reason(done.finish.reason)}],
            "usage": usage_json(done.finish),
        }))
        .into_response(),
        Err(e) => llm_error(&e),
    }
}

fn reason(reason: Option<crate::FinishReason>) -> &'static str {
    match reason {
        Some(crate::FinishReason::Length) => "length",
        _ => "stop",
    }
}

fn usage_json(finish: crate::Finish) -> Value {
    json!({"prompt_tokens": finish.prompt_tokens, "completion_tokens": finish.completion_tokens,
           "total_tokens": finish.prompt_tokens + finish.completion_tokens})
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// The streamed answer as OpenAI's `chat.completion.chunk` events, then `[DONE]`. An error
/// mid-answer becomes an `error` event (the HTTP status has already been sent).
fn chunks(
    mut answer: ChatStream,
    id: String,
    model: String,
    usage: bool,
) -> impl Stream<Item = Result<Event, Infallible>> {
    async_stream(move |tx| async move {
        let chunk = |delta: Value, finish: Option<&str>| {
            Event::default().data(
                json!({"id": id, "object": "chat.completion.chunk", "created": now_secs(), "model": model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
                .to_string(),
            )
        };
        if tx
            .send(chunk(json!({"role": "assistant", "content": ""}), None))
            .await
            .is_err()
        {
            return;
        }
        while let Some(piece) = answer.next().await {
            let event = match piece {
                Ok(Piece::Text(text)) => chunk(json!({"content": text}), None),
                Ok(Piece::Done(finish)) => {
                    let _ = tx.send(chunk(json!({}), Some(reason(finish.reason)))).await;
                    if usage {
                        let data = json!({"id": id, "object": "chat.completion.chunk", "created": now_secs(),
                                          "model": model, "choices": [], "usage": usage_json(finish)});
                        let _ = tx.send(Event::default().data(data.to_string())).await;
                    }
                    break;
                }
                Err(e) => {
                    let _ = tx
                        .send(
                            Event::default()
                                .data(json!({"error": {"message": e.to_string()}}).to_string()),
                        )
                        .await;
                    return;
                }
            };
            if tx.send(event).await.is_err() {
                return;
            }
        }
        let _ = tx.send(Event::default().data("[DONE]")).await;
    })
}

/// A stream fed by an async producer through a small channel.
fn async_stream<F, Fut>(produce: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(produce(tx));
    futures::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
    )
}
