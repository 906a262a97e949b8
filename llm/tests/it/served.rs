//! The OpenAI-compatible endpoint over the embedded model, read back by the HTTP provider.

use autonet_llm::openai::{OpenAi, OpenAiConfig};
use autonet_llm::serve::{Endpoint, router};
use autonet_llm::{ChatRequest, Limits, LlmError, Message, Provider};

async fn start(token: Option<&str>) -> Option<String> {
    Some(serve(crate::model()?, token).await)
}

/// Serves `provider` on a free loopback port; the API base URL.
async fn serve(provider: std::sync::Arc<dyn Provider>, token: Option<&str>) -> String {
    let endpoint = Endpoint {
        provider,
        model: "smollm2".into(),
        token: token.map(String::from),
        max_body: 64 * 1024,
        default_max_tokens: 16,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(endpoint)).await });
    format!("http://{addr}/v1")
}

fn client(base_url: String, api_key: Option<&str>) -> OpenAi {
    let config = OpenAiConfig {
        name: "local".into(),
        base_url,
        model: "smollm2".into(),
        api_key: api_key.map(String::from),
    };
    OpenAi::new(config, Limits::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_provider_streams_the_same_answer_as_the_model_itself() {
    let Some(base) = start(None).await else {
        return;
    };
    let request = ChatRequest::new(vec![Message::user("Name a colour of the sky.")], 12);
    let direct = crate::model()
        .unwrap()
        .chat(request.clone())
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let served = client(base, None)
        .chat(request)
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(served.text, direct.text);
    assert_eq!(
        served.finish, direct.finish,
        "finish reason and usage travel over the API"
    );
    assert_eq!(served.provider, "local");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_protected_endpoint_refuses_a_wrong_or_missing_key() {
    let Some(base) = start(Some("s3cret")).await else {
        return;
    };
    let request = ChatRequest::new(vec![Message::user("hi")], 2);
    for key in [None, Some("wrong")] {
        match client(base.clone(), key).chat(request.clone()).await {
            Err(LlmError::Status { status: 401, .. }) => {}
            other => panic!("expected 401, got {other:?}"),
        }
    }
    assert!(
        client(base, Some("s3cret"))
            .chat(request)
            .await
            .unwrap()
            .collect()
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_get_openai_shaped_errors() {
    let Some(base) = start(None).await else {
        return;
    };
    let http = autonet_llm::http_client(std::time::Duration::from_secs(5)).unwrap();
    let url = format!("{base}/chat/completions");
    let cases: [(&str, u16); 5] = [
        ("{not json", 400),
        (r#"{"messages": "nope"}"#, 422),
        (
            r#"{"messages": [{"role": "wizard", "content": "hi"}]}"#,
            400,
        ),
        (
            r#"{"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}"#,
            400,
        ),
        (
            r#"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 999999}"#,
            400,
        ),
    ];
    for (body, status) in cases {
        let response = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{body}");
        let json: serde_json::Value = response.json().await.unwrap();
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}: {json}"
        );
    }
    let oversized = format!(
        r#"{{"messages": [{{"role": "user", "content": "{}"}}]}}"#,
        "x".repeat(200_000)
    );
    let response = http
        .post(&url)
        .header("content-type", "application/json")
        .body(oversized)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

#[tokio::test(flavor = "multi_thread")]
async fn models_lists_the_served_model() {
    let Some(base) = start(None).await else {
        return;
    };
    let json: serde_json::Value = autonet_llm::http_client(std::time::Duration::from_secs(5))
        .unwrap()
        .get(format!("{base}/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["data"][0]["id"], "smollm2");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_model_answers_429_so_clients_back_off() {
    let Some(model) = crate::model_with_queue(1) else {
        return;
    };
    let model = std::sync::Arc::new(model);
    let base = serve(model.clone(), None).await;
    let _busy = crate::long_answer(model.as_ref()).await;
    match client(base, None)
        .chat(ChatRequest::new(vec![Message::user("hi")], 2))
        .await
    {
        Err(LlmError::Status {
            status: 429, body, ..
        }) => assert!(body.contains("busy"), "{body}"),
        other => panic!("expected 429, got {other:?}"),
    }
}
