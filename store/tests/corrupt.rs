//! Damaged store files: truncated, bit-flipped and empty files are a clear `Corrupt` error that
//! names the file, never a panic and never a fresh database silently created over them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test helpers fail loudly.

use std::path::{Path, PathBuf};

use autonet_store::{Store, StoreError, Table};

const T: Table = Table::new("test.kv");
const ROWS: u32 = 200;

fn value(i: u32) -> Vec<u8> {
    format!("value number {i} of the corruption test, padded to span pages").into_bytes()
}

/// A closed store holding `ROWS` rows, and its bytes.
fn healthy(dir: &Path) -> (PathBuf, Vec<u8>) {
    let path = dir.join("state.redb");
    let store = Store::open(&path).unwrap();
    for chunk in (0..ROWS).collect::<Vec<_>>().chunks(20) {
        store
            .batch(|b| {
                for i in chunk {
                    b.put(T, &i.to_be_bytes(), &value(*i))?;
                }
                Ok(())
            })
            .unwrap();
    }
    drop(store);
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

/// Opens the damaged file: it must be refused as corrupt, by name, and left unchanged.
fn assert_refused(path: &Path, damaged: &[u8], what: &str) {
    std::fs::write(path, damaged).unwrap();
    let err = match Store::open(path) {
        Ok(_) => panic!("{what}: a damaged store opened as if healthy"),
        Err(e) => e,
    };
    assert!(
        matches!(err, StoreError::Corrupt { .. }),
        "{what}: expected a Corrupt error, got {err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("corrupt store") && text.contains(&path.display().to_string()),
        "{what}: the error must say `corrupt store` and name the file: {text}"
    );
    assert_eq!(
        std::fs::read(path).unwrap(),
        damaged,
        "{what}: the damaged file was modified"
    );
}

#[test]
fn truncated_empty_and_flipped_files_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = healthy(dir.path());
    assert_refused(&path, &[], "empty file");
    for len in [100, 1000, bytes.len() / 2, bytes.len() - 4096] {
        assert_refused(&path, &bytes[..len], &format!("truncated to {len} bytes"));
    }
    // The page-type byte of the first btree page: redb itself panics on it.
    let mut flipped = bytes.clone();
    flipped[4096] ^= 0x04;
    assert_refused(&path, &flipped, "bit 2 of byte 4096 flipped");
}

/// Flips one bit at many places across the file: each open either refuses the file as corrupt or
/// opens it with every row intact. Nothing panics and no row silently changes.
#[test]
fn any_flipped_bit_is_refused_or_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = healthy(dir.path());
    let mut refused = 0;
    for offset in (0..bytes.len()).step_by(509) {
        let mut flipped = bytes.clone();
        flipped[offset] ^= 1 << (offset % 8);
        std::fs::write(&path, &flipped).unwrap();
        match Store::open(&path) {
            Err(StoreError::Corrupt { .. }) => refused += 1,
            Err(other) => panic!("offset {offset}: not reported as corrupt: {other}"),
            Ok(store) => {
                for i in 0..ROWS {
                    let got = store.get(T, &i.to_be_bytes()).unwrap();
                    assert_eq!(got, Some(value(i)), "offset {offset}: row {i} changed");
                }
            }
        }
    }
    assert!(refused > 0, "no flipped bit was detected at all");
}
