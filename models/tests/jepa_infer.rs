//! The decoder learns captions from plans without collapsing to one caption, and two-speed inference answers with the network
//! down (local plan), from a peer's plan when one is up, and from the cache afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autonet_models::jepa::data::{caption, committed_digits};
use autonet_models::jepa::two_speed::Offline;
use autonet_models::jepa::{Device, GraphSource, Path, Pipeline, PlanSource};

/// An in-process stand-in for an inference peer: it serves plans of its own (here: the same
/// trained encoder's plan, scaled slightly so the test can tell whose plan was used). The real
/// slow path goes over the overlay's request-response protocol.
struct InProcessPeer {
    served: usize,
}

impl PlanSource for InProcessPeer {
    fn plan(&mut self, _query: &[f32], local_plan: &[f32]) -> Option<Vec<f32>> {
        self.served += 1;
        Some(local_plan.iter().map(|x| x * 1.01).collect())
    }
}

#[test]
fn decoder_trains_and_two_speed_routes() {
    let source = GraphSource::parse("tiny").unwrap();
    let mut p = Pipeline::new(&source, Device::Cpu, 5).unwrap();
    let report = p.train(60, 300, 9).unwrap();
    eprintln!("{report:?}");
    assert!(
        report.dec_last < 0.5 * report.dec_first,
        "decoder did not learn: {report:?}"
    );

    let (_, held_out) = committed_digits().unwrap();
    let (accuracy, distinct) = p.caption_accuracy(&held_out[..100]).unwrap();
    eprintln!("held-out caption accuracy {accuracy:.2}, {distinct} distinct captions");
    assert!(distinct >= 3, "decoder collapsed to {distinct} captions");
    assert!(
        accuracy >= 0.3,
        "caption accuracy {accuracy} below 3x chance"
    );
    let digit = &held_out[0];
    let offline = p.answer(digit, "digit", &mut Offline).unwrap();
    assert_eq!(offline.path, Path::FastLocal);
    assert!(offline.text.starts_with("digit "), "{offline:?}");
    eprintln!(
        "offline answer {:?} for {:?}",
        offline.text,
        caption(digit.label)
    );

    let mut peer = InProcessPeer { served: 0 };
    let slow = p.answer(digit, "digit", &mut peer).unwrap();
    assert_eq!((slow.path, peer.served), (Path::Slow, 1));
    let cached = p.answer(digit, "digit", &mut Offline).unwrap();
    assert_eq!(cached.path, Path::FastCached);
}
