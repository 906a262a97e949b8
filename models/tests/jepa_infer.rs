//! The decoder learns captions from plans without collapsing to one caption, and two-speed inference answers with the network
//! down (local plan), from a peer's plan when one is up, and from the cache afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autonet_models::jepa::data::{caption, committed_digits};
use autonet_models::jepa::two_speed::Offline;
use autonet_models::jepa::{Device, GraphSource, Path, Pipeline, PlanRequest, PlanSource};

/// An in-process stand-in for an inference peer: it serves a fixed plan so the test can tell
/// whose plan was used. The real slow path goes over the overlay's request-response protocol
/// (node/tests/it/infer_peer.rs).
struct InProcessPeer {
    served: usize,
    plan: Vec<f32>,
}

impl PlanSource for InProcessPeer {
    fn plan(&mut self, _request: &PlanRequest) -> Option<Vec<f32>> {
        self.served += 1;
        Some(self.plan.clone())
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

    let request = PlanRequest::new(digit, "digit", &p.vl.model.layout);
    let plan = p.plan_for(&request).unwrap();
    let mut peer = InProcessPeer { served: 0, plan };
    let slow = p.answer(digit, "digit", &mut peer).unwrap();
    assert_eq!((slow.path, peer.served), (Path::Slow, 1));
    // The peer runs the same encoder, so its plan decodes to the same caption.
    assert_eq!(slow.text, offline.text);
    let cached = p.answer(digit, "digit", &mut Offline).unwrap();
    assert_eq!(cached.path, Path::FastCached);
}
