//! Bad input is rejected with a clear error and leaves the world untouched.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common_turns;

use autonet_models::substrate::{
    Bundle, Event, SubstrateError, World,
    events::{EventLink, MAX_BUNDLE_BYTES, SubClaimSprouted},
    keyword::KeywordEmbedder,
    replay::replay,
    solver,
    turn::turn_to_observation,
    world::Position,
};
use serde_json::json;

fn trained() -> (World, Bundle) {
    let mut w = World::charter_v1();
    let b = solver::train(
        &mut w,
        &common_turns::recon_a(),
        1,
        "s",
        &KeywordEmbedder::new().unwrap(),
    )
    .unwrap();
    (w, b)
}

fn first_sprout(b: &Bundle) -> SubClaimSprouted {
    b.events
        .iter()
        .find_map(|e| match e {
            Event::SubClaimSprouted(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap()
}

/// Replays one bad event onto a trained world; the world must not change.
fn rejects(e: SubClaimSprouted) -> SubstrateError {
    let (mut w, _) = trained();
    let before = w.hash();
    let err = replay(&mut w, &[Event::SubClaimSprouted(e)]).unwrap_err();
    assert_eq!(
        w.hash(),
        before,
        "a rejected replay must leave the world untouched"
    );
    err
}

#[test]
fn unknown_tendency() {
    let mut e = first_sprout(&trained().1);
    e.tendency = "world_domination".into();
    assert_eq!(
        rejects(e),
        SubstrateError::UnknownTendency("world_domination".into())
    );
}

#[test]
fn non_finite_coordinates() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut e = first_sprout(&trained().1);
        e.anchor[2] = bad;
        assert!(matches!(
            rejects(e),
            SubstrateError::NonFiniteCoordinate { index: 2, .. }
        ));
    }
}

#[test]
fn wrong_dimension() {
    let mut e = first_sprout(&trained().1);
    e.anchor.push(0.0);
    assert!(matches!(
        rejects(e),
        SubstrateError::WrongDimension {
            expected: 6,
            got: 7,
            ..
        }
    ));
}

#[test]
fn forged_content_id() {
    let mut e = first_sprout(&trained().1);
    e.anchor[2] += 0.25;
    assert!(matches!(
        rejects(e),
        SubstrateError::ContentIdMismatch { .. }
    ));
}

#[test]
fn cycle() {
    let (mut w, b) = trained();
    // Two sub-claims X and Y: hang Y under X, then X under Y.
    let sprouts: Vec<SubClaimSprouted> = b
        .events
        .iter()
        .filter_map(|e| match e {
            Event::SubClaimSprouted(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let x = sprouts[0].clone();
    let y = sprouts
        .iter()
        .find(|s| s.node_id != x.node_id)
        .unwrap()
        .clone();
    let link = |to: &SubClaimSprouted| EventLink {
        parent: to.node_id,
        position: Position::Pro,
        tendency: x.tendency.clone(),
    };
    let mut y_under_x = y.clone();
    y_under_x.parents = vec![link(&x)];
    let mut x_under_y = x.clone();
    x_under_y.parents = vec![link(&y)];
    let before = w.hash();
    let err = replay(
        &mut w,
        &[
            Event::SubClaimSprouted(y_under_x),
            Event::SubClaimSprouted(x_under_y),
        ],
    )
    .unwrap_err();
    assert!(matches!(err, SubstrateError::Cycle { .. }), "{err}");
    assert_eq!(w.hash(), before);
}

#[test]
fn unknown_parent() {
    let mut e = first_sprout(&trained().1);
    e.parents[0].parent = autonet_models::substrate::Digest([7; 32]);
    assert!(matches!(rejects(e), SubstrateError::UnknownNode(_)));
}

#[test]
fn oversized_bundle() {
    let bytes = vec![0u8; MAX_BUNDLE_BYTES + 1];
    assert!(matches!(
        Bundle::decode(&bytes),
        Err(SubstrateError::Oversized { .. })
    ));
}

#[test]
fn non_canonical_bundle() {
    // A definite-length map re-encoded as indefinite-length decodes to the same value but is not
    // the canonical bytes.
    let b = trained().1;
    let mut bytes = b.encode();
    assert_eq!(bytes[0] & 0xe0, 0xa0, "a bundle encodes as a map");
    bytes[0] = 0xbf;
    bytes.push(0xff);
    assert!(matches!(
        Bundle::decode(&bytes),
        Err(SubstrateError::NonCanonical { .. } | SubstrateError::Decode { .. })
    ));
}

#[test]
fn bad_turns() {
    let emb = KeywordEmbedder::new().unwrap();
    let not_number = json!({"intelligence_impact": "lots"});
    assert!(matches!(
        turn_to_observation(&not_number, 0, 6, &emb),
        Err(SubstrateError::InvalidTurn(_))
    ));
    assert!(matches!(
        turn_to_observation(&json!([1, 2]), 0, 6, &emb),
        Err(SubstrateError::InvalidTurn(_))
    ));
    let huge = json!({"life_impact": 1e308, "evolution_impact": 1e308});
    assert!(
        turn_to_observation(&huge, 0, 6, &emb).is_ok(),
        "finite values are accepted"
    );
}

#[test]
fn world_decode_rejects_garbage() {
    assert!(World::decode(b"garbage").is_err());
    let w = trained().0;
    let bytes = w.encode();
    assert!(World::decode(&bytes[..bytes.len() - 3]).is_err());
}
