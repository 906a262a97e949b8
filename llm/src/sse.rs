//! Reading a remote provider's server-sent event stream, with bounds: the whole stream may not
//! exceed [`MAX_STREAM_BYTES`], and each event must come within the idle limit.

use std::time::Duration;

use eventsource_stream::{Event, Eventsource};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::{LlmError, Piece};

/// The most bytes a provider may stream for one answer (a hostile server cannot fill memory).
pub const MAX_STREAM_BYTES: usize = 8 * 1024 * 1024;
/// The most bytes of an error body kept for the message.
const MAX_ERROR_BODY: usize = 512;

pub(crate) type Sender = mpsc::Sender<Result<Piece, LlmError>>;

/// Turns an error status into [`LlmError::Status`] with the start of the body.
pub(crate) async fn check_status(
    provider: &str,
    response: reqwest::Response,
) -> Result<reqwest::Response, LlmError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_ERROR_BODY {
            body.truncate(MAX_ERROR_BODY);
            break;
        }
    }
    Err(LlmError::Status {
        provider: provider.into(),
        status: status.as_u16(),
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Feeds the events of `response` to `on_event`, which turns each into pieces; stops after a
/// [`Piece::Done`], on an error (sent to the caller), or when the caller drops its stream.
pub(crate) async fn pump<F>(
    provider: String,
    response: reqwest::Response,
    idle: Duration,
    tx: Sender,
    mut on_event: F,
) where
    F: FnMut(&Event) -> Result<Vec<Piece>, LlmError> + Send,
{
    let mut seen = 0usize;
    let bytes = response.bytes_stream().map(move |chunk| {
        let chunk = chunk.map_err(|e| describe(&e))?;
        seen += chunk.len();
        if seen > MAX_STREAM_BYTES {
            return Err(format!("the answer exceeded {MAX_STREAM_BYTES} bytes"));
        }
        Ok::<_, String>(chunk)
    });
    let mut events = bytes.eventsource();
    loop {
        let outcome = match tokio::time::timeout(idle, events.next()).await {
            Err(_) => Err(LlmError::Timeout(provider.clone(), idle)),
            Ok(None) => Err(LlmError::Interrupted(provider.clone())),
            Ok(Some(Err(e))) => Err(LlmError::Transport {
                provider: provider.clone(),
                message: e.to_string(),
            }),
            Ok(Some(Ok(event))) => on_event(&event),
        };
        let pieces = match outcome {
            Ok(pieces) => pieces,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
        };
        for piece in pieces {
            let done = matches!(piece, Piece::Done(_));
            if tx.send(Ok(piece)).await.is_err() || done {
                return;
            }
        }
    }
}

/// Sends `post` (waiting at most `idle` for the response headers), checks its status, and
/// streams its events through `on_data` (which turns each event's data into pieces) into the
/// returned stream.
pub(crate) async fn start<F>(
    name: &str,
    post: reqwest::RequestBuilder,
    idle: Duration,
    mut on_data: F,
) -> Result<crate::ChatStream, LlmError>
where
    F: FnMut(&str, &str) -> Result<Vec<Piece>, LlmError> + Send + 'static,
{
    let response = tokio::time::timeout(idle, post.send())
        .await
        .map_err(|_| LlmError::Timeout(name.into(), idle))?
        .map_err(|e| LlmError::Transport {
            provider: name.into(),
            message: describe(&e),
        })?;
    let response = check_status(name, response).await?;
    let (tx, rx): (Sender, _) = mpsc::channel(64);
    let provider = name.to_string();
    tokio::spawn(pump(name.into(), response, idle, tx, move |event| {
        on_data(&provider, &event.data)
    }));
    Ok(crate::ChatStream::new(name, rx))
}

/// Refuses a base URL that is not http(s) (a typo such as `localhost:11434` would otherwise
/// fail later with a less clear transport error).
pub(crate) fn check_base_url(name: &str, url: &str) -> Result<(), LlmError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(LlmError::Invalid(format!(
            "{name}: base_url must be an http(s) URL"
        )))
    }
}

/// A JSON payload of an event, or [`LlmError::Garbage`].
pub(crate) fn json<T: serde::de::DeserializeOwned>(
    provider: &str,
    data: &str,
) -> Result<T, LlmError> {
    serde_json::from_str(data).map_err(|e| LlmError::Garbage {
        provider: provider.into(),
        message: format!("{e} in {:.120}", data),
    })
}

/// An error with its causes (reqwest's own message is only "error sending request for url";
/// the reason — refused, DNS, TLS — is in its sources).
fn describe(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An HTTP client for remote providers (TLS through reqwest's rustls).
pub fn client(connect_timeout: Duration) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .build()
        .map_err(|e| LlmError::Invalid(format!("cannot build the HTTP client: {e}")))
}
