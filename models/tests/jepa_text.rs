//! TextJEPA (tiny config, CPU): training on caption texts lowers held-out loss without collapse.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autonet_models::jepa::data::{caption, committed_digits};
use autonet_models::jepa::rng::Rng;
use autonet_models::jepa::{Device, GraphSource, TextBatch, TextJepa};

#[test]
fn text_jepa_training_lowers_held_out_loss_without_collapse() {
    let source = GraphSource::parse("tiny").unwrap();
    let mut tj = TextJepa::new(&source, Device::Cpu, 3).unwrap();
    let (train, held_out) = committed_digits().unwrap();
    let texts = |digits: &[autonet_models::jepa::data::Digit]| -> Vec<String> {
        digits
            .iter()
            .enumerate()
            .map(|(i, d)| format!("{} number {}", caption(d.label), i % 7))
            .collect()
    };
    let (train_texts, eval_texts) = (texts(&train), texts(&held_out));
    let b = tj.config.batch;
    let mut rng = Rng::new(8);
    let eval: Vec<TextBatch> = (0..4)
        .map(|i| {
            TextBatch::new(
                &eval_texts[i * b..(i + 1) * b]
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
                &tj.config,
                &mut rng,
            )
        })
        .collect();
    let eval_loss = |tj: &mut TextJepa| {
        let params = tj.state.params.clone();
        let parts: Vec<_> = eval
            .iter()
            .map(|batch| tj.evaluate(&params, batch).unwrap())
            .collect();
        (
            parts.iter().map(|p| p.loss).sum::<f64>() / 4.0,
            parts.iter().map(|p| p.embed_std).sum::<f64>() / 4.0,
        )
    };
    let (before, _) = eval_loss(&mut tj);
    for _ in 0..40 {
        let picked: Vec<&str> = (0..b)
            .map(|_| train_texts[rng.below(train_texts.len())].as_str())
            .collect();
        let parts = tj
            .step(&TextBatch::new(&picked, &tj.config, &mut rng))
            .unwrap();
        assert!(parts.loss.is_finite());
    }
    let (after, std) = eval_loss(&mut tj);
    eprintln!("TextJEPA held-out loss {before:.4} -> {after:.4}, embedding std {std:.3}");
    assert!(after < before, "{before} -> {after}");
    assert!(std > 0.3, "embeddings collapsed: std {std}");
}
