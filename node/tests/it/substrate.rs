//! `autonet substrate replay`, `autonet substrate sample` and `autonet infer --model substrate`.

use serde_json::Value;

use crate::{autonet, run_fails, run_ok, stdout};

fn data(name: &str) -> String {
    format!("{}/../models/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn replay_reproduces_reference_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(
        autonet(dir.path())
            .args(["substrate", "replay", "--epochs", "2", "--json", "--turns"])
            .arg(data("e2e-8.jsonl")),
    );
    let v = crate::schema::parse_and_check("substrate-replay", &stdout(&out));
    assert_eq!(v["root_scores"]["promotion_of_intelligence"], 431.0);
    assert_eq!(v["root_scores"]["simplicity"], 864.0);
    assert_eq!(v["unique_nodes"], 14);
    assert_eq!(v["events"]["sprouts"], 48);
    assert_eq!(v["events_total"], 64);
    assert_eq!(v["world_hash"].as_str().unwrap().len(), 64);
}

#[test]
fn replay_writes_a_model_that_infer_reads() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("world.cbor");
    run_ok(
        autonet(dir.path())
            .args(["substrate", "replay", "--turns"])
            .arg(data("recon-a.jsonl"))
            .arg("--out")
            .arg(&model),
    );
    let out = run_ok(
        autonet(dir.path())
            .args([
                "infer",
                "--model",
                "substrate",
                "--input",
                r#"{"turns": [{"intelligence_impact": 0.7}]}"#,
                "--world",
            ])
            .arg(&model),
    );
    let v = crate::schema::parse_and_check("infer", &stdout(&out));
    assert_eq!(v["mode"], "alignment");
    assert!(v["aligned_principle"].is_string());
    let out = run_ok(autonet(dir.path()).args([
        "infer",
        "--model",
        "substrate",
        "--input",
        r#"{"text": "let me explain"}"#,
    ]));
    let v = crate::schema::parse_and_check("infer", &stdout(&out));
    assert_eq!(v["mode"], "general");
}

#[test]
fn sample_is_deterministic_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let sample = || {
        stdout(&run_ok(autonet(dir.path()).args([
            "substrate",
            "sample",
            "--count",
            "5",
            "--seed",
            "3",
        ])))
    };
    let (a, b) = (sample(), sample());
    assert_eq!(a, b);
    assert_eq!(a.lines().count(), 5);
    for line in a.lines() {
        assert!(serde_json::from_str::<Value>(line).unwrap().is_object());
    }
}

#[test]
fn bad_turn_files_are_rejected_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"intelligence_impact\": 0.5}\n[1, 2]\n").unwrap();
    run_fails(
        autonet(dir.path())
            .args(["substrate", "replay", "--turns"])
            .arg(&bad),
        "bad.jsonl:2",
    );
    std::fs::write(&bad, "{\"intelligence_impact\": \"high\"}\n").unwrap();
    run_fails(
        autonet(dir.path())
            .args(["substrate", "replay", "--turns"])
            .arg(&bad),
        "not a number",
    );
    let garbage = dir.path().join("world.cbor");
    std::fs::write(&garbage, b"garbage").unwrap();
    run_fails(
        autonet(dir.path())
            .args(["infer", "--model", "substrate", "--input", "{}", "--world"])
            .arg(&garbage),
        "not a world model",
    );
}
