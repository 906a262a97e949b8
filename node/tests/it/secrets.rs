//! Secrets on disk, through the binary: keystores and the node key are created 0600 in 0700
//! directories, new keystores use geth's standard scrypt cost, and a keystore whose kdfparams ask
//! for an absurd cost (n = 2^30) is refused at once instead of hanging the node.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::{INSECURE_KDF, autonet, run_ok, stderr};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn kdfparams(path: &Path) -> serde_json::Value {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["crypto"]["kdfparams"].clone()
}

#[test]
fn secrets_are_private_standard_cost_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "pw\n").unwrap();

    // The node key and a keystore in a data dir autonet creates.
    let data = dir.path().join("data");
    run_ok(autonet(&data).arg("keygen"));
    run_ok(
        autonet(&data)
            .args(["key", "create", "--role", "solver", "--password-file"])
            .arg(&pw),
    );
    let key = data.join("keys/solver.json");
    assert_eq!(mode(&data), 0o700, "data dir");
    assert_eq!(mode(&data.join("keys")), 0o700, "keys dir");
    assert_eq!(mode(&key), 0o600, "keystore");
    assert_eq!(mode(&data.join("node_key")), 0o600, "node key");

    // Without the test suite's knob, new keystores use n = 2^18, r = 8, p = 1.
    let standard = dir.path().join("standard");
    run_ok(
        autonet(&standard)
            .env_remove(INSECURE_KDF.0)
            .args(["key", "create", "--role", "proposer", "--password-file"])
            .arg(&pw),
    );
    let params = kdfparams(&standard.join("keys/proposer.json"));
    assert_eq!(
        (&params["n"], &params["r"], &params["p"]),
        (&(1 << 18).into(), &8.into(), &1.into()),
        "{params}"
    );

    // A keystore asking for scrypt n = 2^30 (128 GiB of memory) is refused at once.
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&key).unwrap()).unwrap();
    json["crypto"]["kdfparams"]["n"] = (1u64 << 30).into();
    std::fs::write(&key, json.to_string()).unwrap();
    let mut child = autonet(&data)
        .args(["key", "show", "--role", "solver", "--password-file"])
        .arg(&pw)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`key show` still runs 20 s after reading a keystore with n = 2^30");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is refused") && err.contains("n = 1073741824"),
        "{err}"
    );
    assert!(err.contains(&key.display().to_string()), "{err}");
}
