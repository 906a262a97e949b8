//! Regression corpus of the differential fuzzer (`scripts/fuzz-prototype`): streams on which this
//! engine once diverged from the Python prototype, with what the prototype made of them (its root
//! scores after every turn and its whole state after the last, recorded as data by
//! `scripts/fuzz-prototype CHECKOUT --record TURNS EPOCHS OUT`). No Python is needed to check them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use autonet_models::substrate::{World, solver, trace::trace_state, turn::TurnEmbedder};
use serde_json::Value;

struct NoEmbedder;
impl TurnEmbedder for NoEmbedder {
    fn embed(&self, _: &Value, _: usize) -> autonet_models::substrate::Result<Vec<f64>> {
        panic!("every corpus turn has explicit impact fields")
    }
}

/// JSON equality, numbers within 1e-12 relative: serde_json (without its `float_roundtrip`
/// feature) may parse the prototype's shortest-repr floats one ulp off, so the recorded values are
/// compared with that slack. (The fuzzer itself compares exactly, parsing both sides in Python.)
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn check(path: &Path) {
    let entry: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let turns = entry["turns"].as_array().unwrap().clone();
    let epochs = u32::try_from(entry["epochs"].as_u64().unwrap()).unwrap();
    let mut states = Vec::new();
    let mut w = World::charter_v1();
    solver::train_traced(
        &mut w,
        &turns,
        epochs,
        "fuzz",
        &NoEmbedder,
        &mut |w, e, i| states.push(trace_state(w, e, i)),
    )
    .unwrap();
    let want_roots = entry["prototype_roots"].as_array().unwrap();
    assert_eq!(states.len(), want_roots.len(), "{}: turns", path.display());
    for (i, (got, want)) in states.iter().zip(want_roots).enumerate() {
        assert!(
            same(&got["roots"], want),
            "{}: root scores after state {i} (epoch {}, turn {}): engine {}, prototype {want}",
            path.display(),
            got["epoch"],
            got["turn"],
            got["roots"]
        );
    }
    let want = &entry["prototype_final"];
    let got = states.last().unwrap();
    for field in ["trees", "nodes", "roots"] {
        if !same(&got[field], &want[field]) {
            let (g, w) = (
                got[field].as_object().unwrap(),
                want[field].as_object().unwrap(),
            );
            let first = g
                .iter()
                .find(|(k, v)| !w.get(*k).is_some_and(|x| same(v, x)))
                .map(|(k, v)| format!("{k}: engine {v}, prototype {:?}", w.get(k)));
            panic!("{}: final {field} differ; first: {first:?}", path.display());
        }
    }
}

#[test]
fn every_corpus_stream_matches_the_prototype() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/prototype-corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    for f in &files {
        check(f);
    }
}
