use std::path::{Path, PathBuf};

use alloy::primitives::B256;

use super::fingerprint::{COMBINED, PROTECTED, fingerprint, hex32};
use super::*;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_file() {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
        return;
    }
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        copy_tree(&entry.path(), &to.join(entry.file_name()));
    }
}

fn both(root: &Path) -> (String, String) {
    (
        hex32(&fingerprint(root, PROTECTED).unwrap()),
        hex32(&fingerprint(root, COMBINED).unwrap()),
    )
}

/// The values embedded by build.rs are the rule applied to the checked-out sources.
#[test]
fn embedded_fingerprints_are_the_sources_fingerprints() {
    assert_eq!(
        both(&workspace()),
        (PROTECTED_HEX.into(), COMBINED_HEX.into())
    );
    assert_eq!(protected().to_string(), format!("0x{PROTECTED_HEX}"));
}

/// In a copy of the sources elsewhere (another checkout): the same values, also with CRLF line
/// ends; a changed protected file changes the protected value, a change outside the protected set
/// changes only the combined one.
#[test]
fn only_protected_changes_move_the_protected_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path();
    for root in COMBINED {
        copy_tree(&workspace().join(root), &copy.join(root));
    }
    let original = both(copy);
    assert_eq!(original, (PROTECTED_HEX.into(), COMBINED_HEX.into()));

    let doc = copy.join("protocol/src/constitution/constitution.toml");
    let text = std::fs::read_to_string(&doc).unwrap();
    std::fs::write(&doc, text.replace('\n', "\r\n")).unwrap();
    assert_eq!(both(copy), original, "CRLF checkouts hash the same");

    let outside = copy.join("node/src/output.rs");
    let mut code = std::fs::read_to_string(&outside).unwrap();
    code.push_str("\n// a comment outside the protected set\n");
    std::fs::write(&outside, code).unwrap();
    let after_outside = both(copy);
    assert_eq!(after_outside.0, original.0);
    assert_ne!(after_outside.1, original.1);

    std::fs::write(
        &doc,
        text.replace("max_delegation_depth = 3", "max_delegation_depth = 9"),
    )
    .unwrap();
    let after_protected = both(copy);
    assert_ne!(after_protected.0, original.0);
    assert_ne!(after_protected.1, after_outside.1);

    // A missing protected root is an error, never a smaller fingerprint.
    std::fs::remove_file(copy.join("contracts/src/binding.rs")).unwrap();
    assert!(fingerprint(copy, PROTECTED).is_err());
}

#[test]
fn a_mismatch_refuses_staked_roles_unless_allowed_unverified() {
    assert_eq!(OnChain::of(None), OnChain::Unpublished);
    assert_eq!(OnChain::of(Some(protected())), OnChain::Match);
    let other = B256::repeat_byte(7);
    assert_eq!(OnChain::of(Some(other)), OnChain::Mismatch(other));
    assert_eq!(gate(OnChain::Unpublished, false).unwrap(), Gate::Staked);
    assert_eq!(gate(OnChain::Match, false).unwrap(), Gate::Staked);
    assert_eq!(
        gate(OnChain::Mismatch(other), true).unwrap(),
        Gate::UnstakedOnly
    );
    let err = gate(OnChain::Mismatch(other), false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("refusing staked roles") && err.contains("--allow-unverified"),
        "{err}"
    );
    assert!(agent_version().ends_with(PROTECTED_HEX));
}
