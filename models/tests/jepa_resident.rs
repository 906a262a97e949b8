//! The device-resident (IoBinding) train step computes what the copying train step computes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autonet_models::jepa::data::committed_digits;
use autonet_models::jepa::manifest::Config;
use autonet_models::jepa::resident::ResidentTrainer;
use autonet_models::jepa::rng::Rng;
use autonet_models::jepa::session::Data;
use autonet_models::jepa::{Device, GraphSource, TrainState, VlBatch, VlJepa};

#[test]
fn resident_train_steps_match_copying_train_steps() {
    let source = GraphSource::parse("tiny").unwrap();
    let mut vl = VlJepa::new(&source, Device::Cpu, 4).unwrap();
    let (train, _) = committed_digits().unwrap();
    let mut rng = Rng::new(6);
    let c = vl.config.clone();
    let batches: Vec<VlBatch> = (0..4)
        .map(|_| {
            let picked: Vec<_> = (0..c.batch)
                .map(|_| &train[rng.below(train.len())])
                .collect();
            VlBatch::new(&picked, &c, None, &mut rng)
        })
        .collect();
    let params = vl.state.params.clone();
    let targets: Vec<Vec<f32>> = batches
        .iter()
        .map(|b| vl.plans(&params, b, true).unwrap())
        .collect();
    let data = |b: usize| data_of(&batches[b], &targets[b], &c);
    let start = TrainState::new(params);
    let bytes = vl.model.graph_bytes("train_step").unwrap();
    let mut resident = ResidentTrainer::new(&vl.model, &bytes, &start, Device::Cpu, 1).unwrap();
    let mut copying = start.clone();
    for t in 0..batches.len() {
        let loss_copy = vl
            .model
            .train_step(&mut copying, 1e-3, &data(t))
            .unwrap()
            .scalar("loss")
            .unwrap();
        let scalars = resident.step(1e-3, &data(t)).unwrap();
        let loss_resident = scalars.iter().find(|(n, _)| n == "loss").unwrap().1;
        assert_eq!(loss_copy, loss_resident, "step {t}");
    }
    let back = resident.download().unwrap();
    assert_eq!(back.step, copying.step);
    for (a, b) in [
        (&back.params, &copying.params),
        (&back.m, &copying.m),
        (&back.v, &copying.v),
    ] {
        let max = a
            .data
            .iter()
            .zip(&b.data)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(max <= 1e-6, "resident and copying states differ by {max}");
    }
}

fn data_of<'a>(b: &'a VlBatch, target: &'a [f32], c: &Config) -> Vec<(&'static str, Data<'a>)> {
    vec![
        (
            "image",
            Data::F32(vec![b.n, c.channels, c.image, c.image], &b.images),
        ),
        ("tokens", Data::I64(vec![b.n, c.text_len], &b.tokens)),
        ("patch_keep", Data::F32(vec![b.n, c.patches()], &b.keep)),
        (
            "target_plan",
            Data::F32(vec![b.n, c.latents, c.dim], target),
        ),
    ]
}
