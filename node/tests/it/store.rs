//! A damaged state store (`p2p.redb`, opened by `autonet bootstrap`): truncated, bit-flipped and
//! empty files each make the binary exit with a clear error that names the file. Never a panic
//! (exit 101), never a node that silently starts on a fresh, empty store.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use autonet_store::{Store, Table};

use crate::{autonet, stderr};

/// Writes a healthy store with some rows at `path` and returns its bytes.
fn healthy_store(path: &Path) -> Vec<u8> {
    const T: Table = Table::new("test.rows");
    let store = Store::open(path).unwrap();
    for i in 0u32..100 {
        store
            .put(T, &i.to_be_bytes(), format!("row {i}").as_bytes())
            .unwrap();
    }
    drop(store);
    std::fs::read(path).unwrap()
}

/// Runs `autonet bootstrap` on `data` and waits (polling, with a deadline) for it to exit.
fn bootstrap_exit(data: &Path) -> std::process::Output {
    let mut child = autonet(data)
        .args(["bootstrap", "--listen", "/ip4/127.0.0.1/tcp/0"])
        .env("AUTONET_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > end {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "autonet started on a damaged store instead of refusing it:\n{}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_damaged_store_is_a_clear_error_not_a_panic_or_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch.redb");
    let bytes = healthy_store(&scratch);
    let mut flipped = bytes.clone();
    flipped[4096] ^= 0x04;
    for (what, damaged) in [
        ("truncated", bytes[..bytes.len() / 2].to_vec()),
        ("bit-flipped", flipped),
        ("empty", Vec::new()),
    ] {
        let data = dir.path().join(what);
        std::fs::create_dir_all(&data).unwrap();
        let store = data.join("p2p.redb");
        std::fs::write(&store, &damaged).unwrap();
        let out = bootstrap_exit(&data);
        let err = stderr(&out);
        assert_ne!(
            out.status.code(),
            Some(101),
            "{what}: autonet panicked:\n{err}"
        );
        assert!(!out.status.success(), "{what}: autonet exited 0:\n{err}");
        assert!(
            err.contains("corrupt store") && err.contains(&store.display().to_string()),
            "{what}: the error must say `corrupt store` and name {}:\n{err}",
            store.display()
        );
        assert!(
            !err.contains("panicked"),
            "{what}: a panic message was printed:\n{err}"
        );
        assert_eq!(
            std::fs::read(&store).unwrap(),
            damaged,
            "{what}: the damaged file was changed"
        );
    }
}
