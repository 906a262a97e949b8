//! `autonet llm`: the embedded model from the command line, and its OpenAI-compatible endpoint
//! checked with the official `openai` Python client. Skips (with a message) where the model file
//! or the client is not installed; `scripts/test` installs both.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::{autonet, run_fails, run_ok, stdout};

/// The model file, passed explicitly (the test's `autonet` gets a clean environment and HOME).
fn model_file() -> Option<String> {
    match autonet_llm::embedded::locate() {
        Ok(path) => Some(path.display().to_string()),
        Err(e) => {
            eprintln!("SKIP: {e}");
            None
        }
    }
}

#[test]
fn chat_answers_with_the_embedded_model_as_json() {
    let Some(model) = model_file() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(autonet(dir.path()).env("AUTONET_LLM_MODEL", &model).args([
        "llm",
        "chat",
        "--json",
        "--max-tokens",
        "8",
        "What is the capital of France? One word.",
    ]));
    let json = crate::schema::parse_and_check("llm-chat", &stdout(&out));
    assert!(json["text"].as_str().unwrap().contains("Paris"), "{json}");
    assert!(json["completion_tokens"].as_u64().unwrap() <= 8);
    assert!(json["first_token_ms"].as_f64().unwrap() <= json["total_ms"].as_f64().unwrap());
}

#[test]
fn chat_explains_a_missing_model_and_a_missing_key() {
    let dir = tempfile::tempdir().unwrap();
    run_fails(
        autonet(dir.path())
            .env("AUTONET_LLM_MODEL", dir.path().join("none.gguf"))
            .args(["llm", "chat", "hi"]),
        "is not a file",
    );
    run_fails(
        autonet(dir.path()).env_remove("ANTHROPIC_API_KEY").args([
            "llm",
            "chat",
            "--provider",
            "anthropic",
            "--model",
            "claude",
            "hi",
        ]),
        "the API key variable ANTHROPIC_API_KEY is not set",
    );
    run_fails(
        autonet(dir.path()).args(["llm", "serve", "--addr", "0.0.0.0:0"]),
        "needs --token-file",
    );
}

#[test]
fn the_endpoint_passes_the_official_openai_client() {
    let Some(model) = model_file() else { return };
    let python = Command::new("python3")
        .args(["-c", "import openai"])
        .status();
    if !python.is_ok_and(|s| s.success()) {
        eprintln!(
            "SKIP: the openai Python package is not installed (python3 -m pip install openai)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut server = autonet(dir.path())
        .env("AUTONET_LLM_MODEL", &model)
        .args(["llm", "serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/llm/openai-client-check.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(&base)
        .output()
        .unwrap();
    server.kill().unwrap();
    let _ = server.wait();
    assert!(
        out.status.success(),
        "{}\n{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(json["text"].as_str().unwrap().contains("Paris"), "{json}");
    assert!(json["streamed_pieces"].as_u64().unwrap() >= 1);
}
