//! A checkpoint restores the whole training state: training to N steps, saving, restoring into
//! a fresh pipeline and training on to M steps gives bit for bit the model of training straight
//! to M steps; damaged checkpoints are refused with the reason and leave the pipeline as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autonet_models::jepa::checkpoint::{checkpoint_id, encode, restore};
use autonet_models::jepa::{Device, GraphSource, Pipeline};

fn fresh() -> Pipeline {
    Pipeline::new(&GraphSource::parse("tiny").unwrap(), Device::Cpu, 1).unwrap()
}

/// Trains to (vl, dec) steps, checkpoints, restores into a fresh pipeline and returns it.
fn saved_and_restored(vl: usize, dec: usize) -> Pipeline {
    let mut first = fresh();
    first.train(vl, dec, 3).unwrap();
    let saved = encode(&first);
    let mut restored = fresh();
    let id = restore(&mut restored, &saved).unwrap();
    assert_eq!(Some(id), checkpoint_id(&saved));
    assert_eq!(restored.progress, first.progress);
    assert_eq!(encode(&restored), saved);
    restored
}

fn same_model(a: &Pipeline, b: &Pipeline) -> bool {
    // Whole state, byte for byte (parameters, moments, target, statistics, progress).
    a.progress == b.progress && encode(a) == encode(b)
}

#[test]
fn resumed_training_equals_straight_training() {
    let mut straight = fresh();
    straight.train(4, 6, 3).unwrap();

    // Resume in the encoder stage, then train both stages to the end.
    let mut resumed = saved_and_restored(2, 0);
    resumed.train(4, 6, 3).unwrap();
    assert!(
        same_model(&resumed, &straight),
        "resumed in the encoder stage"
    );

    // Resume in the decoder stage.
    let mut resumed = saved_and_restored(4, 3);
    resumed.train(4, 6, 3).unwrap();
    assert!(
        same_model(&resumed, &straight),
        "resumed in the decoder stage"
    );

    // Another seed cannot resume this training.
    let err = resumed.train(5, 6, 4).unwrap_err().to_string();
    assert!(err.contains("seed"), "{err}");
}

#[test]
fn damaged_checkpoints_are_refused_and_change_nothing() {
    let mut trained = fresh();
    trained.train(1, 1, 3).unwrap();
    let good = encode(&trained);
    let mut target = fresh();
    let before = encode(&target);

    let mut flipped = good.clone();
    flipped[40] ^= 1;
    let truncated = &good[..good.len() - 5];
    for (bytes, needle) in [
        (&flipped[..], "hash mismatch"),
        (truncated, "hash mismatch"),
        (
            &b"not a checkpoint at all, just text............"[..],
            "not a JEPA checkpoint",
        ),
    ] {
        let err = restore(&mut target, bytes).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
        assert_eq!(encode(&target), before);
    }
}
