//! `autonet keygen`: one identity per data dir, reused, never overwritten.

use std::fs;

use crate::{autonet, run_fails, run_ok, stdout};

fn peer_id(dir: &std::path::Path) -> (String, bool) {
    let out = run_ok(autonet(dir).args(["keygen", "--json"]));
    let v = crate::schema::parse_and_check("keygen", &stdout(&out));
    (
        v["peer_id"].as_str().unwrap().to_owned(),
        v["created"].as_bool().unwrap(),
    )
}

#[test]
fn keygen_twice_keeps_the_same_peer_id() {
    let dir = tempfile::tempdir().unwrap();
    let (first, created) = peer_id(dir.path());
    assert!(created);
    assert!(
        first.starts_with("12D3KooW"),
        "ed25519 peer ids start with 12D3KooW: {first}"
    );
    let (second, created) = peer_id(dir.path());
    assert!(!created);
    assert_eq!(first, second);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join("node_key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn corrupt_key_file_is_a_clear_error_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("node_key");
    let garbage: Vec<u8> = (0u8..=255).rev().collect();
    fs::write(&key, &garbage).unwrap();
    let err = run_fails(autonet(dir.path()).arg("keygen"), "not a valid libp2p key");
    assert!(err.contains("left unchanged"), "{err}");
    assert_eq!(
        fs::read(&key).unwrap(),
        garbage,
        "the key file must stay byte-for-byte"
    );
}
