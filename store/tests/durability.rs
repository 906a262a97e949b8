//! Crash safety and schema handling of the state store, against real files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Test helpers fail loudly.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use autonet_store::{Migration, Store, StoreError, Table};

const T: Table = Table::new("test.kv");
const CHILD_ENV: &str = "AUTONET_STORE_KILL_CHILD";

/// The child half of `acknowledged_writes_survive_sigkill`: writes keys forever, printing each
/// index after its write returned. Does nothing when run as an ordinary test.
#[test]
fn kill_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = Store::open(&path).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        store
            .put(T, &i.to_be_bytes(), format!("value-{i}").as_bytes())
            .unwrap();
        writeln!(out, "ack {i}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut last_ack = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(i) = line.strip_prefix("ack ") {
            let i: u64 = i.parse().unwrap();
            last_ack = Some(i);
            if i >= 25 {
                // Kill right after this acknowledgement, while the child is mid-way through the
                // next write.
                child.kill().unwrap(); // SIGKILL on Unix
                break;
            }
        }
    }
    child.wait().unwrap();
    let last_ack = last_ack.expect("child acknowledged no write");
    let store = Store::open(&path).unwrap();
    for i in 0..=last_ack {
        let v = store.get(T, &i.to_be_bytes()).unwrap();
        assert_eq!(
            v.as_deref(),
            Some(format!("value-{i}").as_bytes()),
            "write {i} was lost"
        );
    }
}

#[test]
fn round_trip_scan_and_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.redb")).unwrap();
    assert_eq!(store.get(T, b"a").unwrap(), None);
    assert!(store.scan(T).unwrap().is_empty());
    store
        .batch(|b| {
            b.put(T, b"a/1", b"x")?;
            b.put(T, b"a/2", b"y")?;
            b.put(T, b"b/1", b"z")?;
            assert_eq!(b.get(T, b"a/2")?.as_deref(), Some(&b"y"[..]));
            Ok(())
        })
        .unwrap();
    let a: Vec<_> = store
        .scan_prefix(T, b"a/")
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(a, vec![b"a/1".to_vec(), b"a/2".to_vec()]);
    store.remove(T, b"a/1").unwrap();
    assert_eq!(store.get(T, b"a/1").unwrap(), None);
    assert_eq!(store.scan(T).unwrap().len(), 2);
}

#[test]
fn failed_batch_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.redb")).unwrap();
    let err = store
        .batch(|b| {
            b.put(T, b"k", b"v")?;
            Err::<(), _>(StoreError::CorruptVersion {
                path: "x".into(),
                len: 0,
            })
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::CorruptVersion { .. }));
    assert_eq!(store.get(T, b"k").unwrap(), None);
}

#[test]
fn migrations_run_once_in_order_and_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let v1 = Store::open(&path).unwrap();
    assert_eq!(v1.schema_version().unwrap(), autonet_store::SCHEMA_VERSION);
    v1.put(T, b"old", b"1").unwrap();
    drop(v1);

    const MARK: Table = Table::new("test.migrated");
    let mut steps = autonet_store::migrations::MIGRATIONS.to_vec();
    steps.push(Migration {
        to: steps.len() as u32 + 1,
        name: "copy old into new",
        apply: |tx| {
            let mut t = tx
                .open_table(redb::TableDefinition::<&[u8], &[u8]>::new("test.migrated"))
                .map_err(|e| StoreError::Db(e.into()))?;
            t.insert(&b"seen"[..], &b"yes"[..])
                .map_err(|e| StoreError::Db(e.into()))?;
            Ok(())
        },
    });
    let v2 = Store::open_with(&path, &steps).unwrap();
    assert_eq!(v2.schema_version().unwrap(), steps.len() as u32);
    assert_eq!(v2.get(MARK, b"seen").unwrap().as_deref(), Some(&b"yes"[..]));
    assert_eq!(v2.get(T, b"old").unwrap().as_deref(), Some(&b"1"[..]));
    drop(v2);

    // The older binary refuses the newer store and leaves it alone.
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    assert!(err.to_string().contains("upgrade autonet"));
}

#[test]
fn second_open_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let _first = Store::open(&path).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(err.to_string().contains("already open"), "{err}");
}
