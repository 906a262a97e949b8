//! `autonet model publish|status|rebuild` on a shard folder, with shards lost and corrupted.

use std::fs;

use crate::{autonet, run_fails, run_ok, stderr, stdout};

#[test]
fn publish_lose_m_shards_and_rebuild_the_exact_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.bin");
    let bytes: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(&model, &bytes).unwrap();
    let out_dir = dir.path().join("shards");
    run_ok(
        autonet(dir.path())
            .args(["model", "publish"])
            .arg(&model)
            .arg("--out")
            .arg(&out_dir)
            .args(["--model-version", "3"]),
    );
    // Lose three shards and corrupt a fourth: four of (10 + 4) are unusable, ten remain.
    for i in [0, 4, 9] {
        fs::remove_file(out_dir.join(format!("shard-{i:03}.bin"))).unwrap();
    }
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
    run_ok(
        autonet(dir.path())
            .args(["model", "rebuild"])
            .arg(&out_dir)
            .arg("--out")
            .arg(&rebuilt),
    );
    assert_eq!(fs::read(&rebuilt).unwrap(), bytes);
}

/// A folder with fewer than k good shards: `model status` prints its report (text or JSON) and
/// exits non-zero with a message saying the model cannot be rebuilt.
#[test]
fn status_of_a_model_that_cannot_be_rebuilt_fails() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model.bin");
    fs::write(&model, vec![7u8; 50_000]).unwrap();
    let out_dir = dir.path().join("shards");
    run_ok(
        autonet(dir.path())
            .args(["model", "publish"])
            .arg(&model)
            .arg("--out")
            .arg(&out_dir),
    );
    // Lose five of the 10 + 4 shards: nine remain, ten are needed.
    for i in [0, 3, 6, 9, 12] {
        fs::remove_file(out_dir.join(format!("shard-{i:03}.bin"))).unwrap();
    }
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
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rebuildable"], false, "{report}");
    assert_eq!(report["good"], 9, "{report}");
    assert!(stderr(&out).contains("NOT rebuildable"), "{}", stderr(&out));
}
