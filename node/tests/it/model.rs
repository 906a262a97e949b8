//! `autonet model publish|status|rebuild` on a shard folder, with shards lost and corrupted.

use std::fs;

use crate::{autonet, run_ok, stdout};

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
