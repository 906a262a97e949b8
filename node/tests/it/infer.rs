//! `autonet infer --model jepa`: answers offline from the fast path; clear errors for a missing
//! ONNX Runtime, an unusable CUDA provider and bad flags.

use crate::{autonet, run_fails, run_ok, stdout};

fn quick(cmd: &mut std::process::Command) -> &mut std::process::Command {
    cmd.args([
        "infer",
        "--model",
        "jepa",
        "--train-steps",
        "3",
        "--decoder-steps",
        "5",
    ])
}

#[test]
fn infer_answers_from_the_fast_path_with_the_network_down() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(quick(&mut autonet(dir.path())).args(["--digit", "4", "--json"]));
    let v = crate::schema::parse_and_check("infer", &stdout(&out));
    assert!(v["path"].as_str().unwrap().starts_with("fast"), "{v}");
    assert!(v["answer"].is_string(), "{v}");
    assert!(
        v["label_caption"].as_str().unwrap().starts_with("digit "),
        "{v}"
    );
}

#[test]
fn missing_onnx_runtime_names_the_install_command() {
    let dir = tempfile::tempdir().unwrap();
    run_fails(
        quick(&mut autonet(dir.path())).env("ORT_DYLIB_PATH", dir.path().join("libonnxruntime.so")),
        "pip install onnxruntime==1.31.1",
    );
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_a_cuda_build_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    run_fails(
        quick(&mut autonet(dir.path())).args(["--device", "cuda"]),
        "CUDA execution provider unavailable",
    );
}

#[test]
fn bad_flags_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    crate::run_usage_error(
        quick(&mut autonet(dir.path())).args(["--digit", "5000"]),
        "5000 is not in 0..=296",
    );
    for (flag, value, needle) in [
        ("--device", "tpu", "unknown device"),
        ("--graphs", "/nonexistent", "manifest.json"),
    ] {
        run_fails(quick(&mut autonet(dir.path())).args([flag, value]), needle);
    }
}

fn infer_json(dir: &std::path::Path, train_steps: &str) -> serde_json::Value {
    let out = run_ok(autonet(dir).args([
        "infer",
        "--model",
        "jepa",
        "--train-steps",
        train_steps,
        "--decoder-steps",
        "5",
        "--json",
    ]));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn infer_keeps_a_checkpoint_loads_it_and_resumes_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let first = infer_json(dir.path(), "3");
    assert_eq!(first["checkpoint"], "trained", "{first}");
    let file = std::path::PathBuf::from(first["checkpoint_file"].as_str().unwrap());
    assert!(file.starts_with(dir.path()), "{first}");
    let saved = std::fs::read(&file).unwrap();

    let again = infer_json(dir.path(), "3");
    assert_eq!(again["checkpoint"], "loaded", "{again}");
    assert_eq!(again["local_model"], first["local_model"]);
    assert_eq!(again["answer"], first["answer"]);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        saved,
        "loading rewrote the file"
    );

    let more = infer_json(dir.path(), "4");
    assert_eq!(more["checkpoint"], "resumed", "{more}");
    assert_eq!(more["trained_steps"], serde_json::json!([4, 5]), "{more}");
    assert_ne!(more["local_model"], first["local_model"]);

    // A damaged checkpoint is a clear error and is left as it is.
    let mut damaged = std::fs::read(&file).unwrap();
    damaged[20] ^= 0xff;
    std::fs::write(&file, &damaged).unwrap();
    let err = run_fails(quick(&mut autonet(dir.path())), "cannot be used");
    assert!(err.contains("hash mismatch"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), damaged);
}
