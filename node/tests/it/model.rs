//! `autonet model publish|status|rebuild` on a shard folder, with shards lost and corrupted.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{autonet, run_fails, run_ok, stderr, stdout};

/// Writes `bytes` to `dir/model.bin` and runs `autonet model publish` on it (with `args`) into
/// `dir/shards`; that folder.
fn publish(dir: &Path, bytes: &[u8], args: &[&str]) -> PathBuf {
    let model = dir.join("model.bin");
    fs::write(&model, bytes).unwrap();
    let out_dir = dir.join("shards");
    run_ok(
        autonet(dir)
            .args(["model", "publish"])
            .arg(&model)
            .arg("--out")
            .arg(&out_dir)
            .args(args),
    );
    out_dir
}

/// Deletes shards `indices` of the shard folder `out_dir`.
fn lose(out_dir: &Path, indices: &[u32]) {
    for i in indices {
        fs::remove_file(out_dir.join(format!("shard-{i:03}.bin"))).unwrap();
    }
}

#[test]
fn publish_lose_m_shards_and_rebuild_the_exact_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let out_dir = publish(dir.path(), &bytes, &["--model-version", "3"]);
    // Lose three shards and corrupt a fourth: four of (10 + 4) are unusable, ten remain.
    lose(&out_dir, &[0, 4, 9]);
    let corrupt = out_dir.join("shard-011.bin");
    let mut shard = fs::read(&corrupt).unwrap();
    shard[0] ^= 0xFF;
    fs::write(&corrupt, shard).unwrap();
    let status = run_ok(autonet(dir.path()).args(["model", "status"]).arg(&out_dir));
    let text = stdout(&status);
    assert!(
        text.contains("missing") && text.contains("corrupt"),
        "{text}"
    );
    let rebuilt = dir.path().join("rebuilt.bin");
    let out = run_ok(
        autonet(dir.path())
            .args(["model", "rebuild", "--json"])
            .arg(&out_dir)
            .arg("--out")
            .arg(&rebuilt),
    );
    let report = crate::schema::parse_and_check("model-rebuild", &stdout(&out));
    assert_eq!(report["bytes"], bytes.len(), "{report}");
    assert_eq!(fs::read(&rebuilt).unwrap(), bytes);
    // `publish --json`: the same manifest facts as the text, the id as 64 hex digits.
    let again = dir.path().join("again");
    let out = run_ok(
        autonet(dir.path())
            .args(["model", "publish", "--json", "--out"])
            .arg(&again)
            .arg(dir.path().join("model.bin")),
    );
    let published = crate::schema::parse_and_check("model-publish", &stdout(&out));
    let id = published["id"].as_str().unwrap();
    assert!(id.len() == 64 && hex::decode(id).is_ok(), "{published}");
    assert_eq!(
        (published["k"].as_u64(), published["m"].as_u64()),
        (Some(10), Some(4))
    );
}

/// A folder with fewer than k good shards: `model status` prints its report (text or JSON) and
/// exits non-zero with a message saying the model cannot be rebuilt.
#[test]
fn status_of_a_model_that_cannot_be_rebuilt_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = publish(dir.path(), &[7u8; 50_000], &[]);
    // Lose five of the 10 + 4 shards: nine remain, ten are needed.
    lose(&out_dir, &[0, 3, 6, 9, 12]);
    run_fails(
        autonet(dir.path()).args(["model", "status"]).arg(&out_dir),
        "NOT rebuildable: 9 of 14 shards are good, 10 needed",
    );
    let out = autonet(dir.path())
        .args(["model", "status", "--json"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = crate::schema::parse_and_check("model-status", &crate::stdout(&out));
    assert_eq!(report["rebuildable"], false, "{report}");
    assert_eq!(report["good"], 9, "{report}");
    assert!(stderr(&out).contains("NOT rebuildable"), "{}", stderr(&out));
}

/// A model id is read the same with or without `0x` (#23: `model status 0x…` used to look for a
/// folder of that name); without an overlay to ask, the error says so.
#[test]
fn model_status_takes_an_id_with_or_without_0x() {
    let dir = tempfile::tempdir().unwrap();
    let id = "ab".repeat(32);
    for target in [id.clone(), format!("0x{id}")] {
        run_fails(
            autonet(dir.path()).args(["model", "status", &target, "--wait", "0"]),
            "--bootstrap is required",
        );
    }
}
