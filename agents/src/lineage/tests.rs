//! The lineage rule against hashes computed independently (Python's hashlib), and the proof's
//! refusals.

use super::*;

const OWNER: &str = "0x00000000000000000000000000000000000000AA";

#[test]
fn lineages_match_an_independent_computation() {
    // python3: sha256(b"0x…aa:You help.:0xabc1")
    let r = root(OWNER, "You help.", "0xABC1").unwrap();
    assert_eq!(
        r.to_string(),
        "5a2663e753d2b273066bdef8cdbfbfa166d5af91e4699b1f6aae5a4917a7fadc"
    );
    // Only the first 256 characters (code points, not bytes) of the charter count.
    let long = "é".repeat(300);
    let c = child(&r, &long, "ff").unwrap();
    assert_eq!(
        c.to_string(),
        "6b00d5042ff44886fe9cc59246f728fa9e2e5aab0615382e25f4be95ae862b55"
    );
    let proof = LineageProof::root(OWNER, "You help.", "0xABC1")
        .unwrap()
        .child(&long, "ff")
        .unwrap();
    assert_eq!(proof.verify(&c), Ok(()));
    assert_eq!(proof.parent().unwrap(), Some(r));
    assert_eq!(Lineage::from_hex(&c.to_string()).unwrap(), c);
}

#[test]
fn bad_proofs_are_refused() {
    let proof = LineageProof::root(OWNER, "charter", "01").unwrap();
    let real = proof.lineage().unwrap();
    // Another owner, charter or key gives another lineage.
    let mut other = proof.clone();
    other.owner = "0x00000000000000000000000000000000000000ab".into();
    assert!(matches!(
        other.verify(&real),
        Err(LineageError::Mismatch { .. })
    ));
    let mut other = proof.clone();
    other.steps[0].charter = "charter!".into();
    assert!(matches!(
        other.verify(&real),
        Err(LineageError::Mismatch { .. })
    ));
    // Malformed parts.
    assert!(matches!(
        root("alice", "c", "01"),
        Err(LineageError::BadOwner(_))
    ));
    assert!(matches!(
        root(OWNER, "c", "a:b"),
        Err(LineageError::BadKey(_))
    ));
    assert!(matches!(root(OWNER, "c", ""), Err(LineageError::BadKey(_))));
    let mut long = proof.clone();
    long.steps[0].charter = "x".repeat(CHARTER_CHARS + 1);
    assert_eq!(long.lineage(), Err(LineageError::LongCharter));
    let empty = LineageProof {
        owner: OWNER.into(),
        steps: vec![],
    };
    assert_eq!(empty.lineage(), Err(LineageError::Depth(0)));
    let mut deep = proof.clone();
    for _ in 0..MAX_LINEAGE_DEPTH {
        deep.steps.push(proof.steps[0].clone());
    }
    assert!(matches!(deep.lineage(), Err(LineageError::Depth(_))));
    assert!(Lineage::from_hex("zz").is_err());
}
