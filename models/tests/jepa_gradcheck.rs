//! The float64 gradient graphs of the tiny config against central finite differences:
//! max relative error ≤ 1e-4, for the largest-gradient coordinate of every parameter tensor and
//! for random directions over all parameters (tensors whose gradient is structurally zero are
//! checked absolutely).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autonet_models::jepa::rng::Rng;
use autonet_models::jepa::session::{Data, ParamFeed};
use autonet_models::jepa::{Device, GraphSource, JepaModel};

struct Inputs {
    f64s: Vec<(&'static str, Vec<usize>, Vec<f64>)>,
    i64s: Vec<(&'static str, Vec<usize>, Vec<i64>)>,
}

fn inputs(model: &str, rng: &mut Rng) -> Inputs {
    let c = GraphSource::parse("tiny")
        .unwrap()
        .manifest()
        .unwrap()
        .config;
    let (b, t, k, d) = (c.batch, c.text_len, c.latents, c.dim);
    let normal = |rng: &mut Rng, n: usize| (0..n).map(|_| rng.normal()).collect::<Vec<f64>>();
    let keep = |rng: &mut Rng, n: usize| {
        (0..n)
            .map(|_| if rng.uniform() < 0.25 { 0.0 } else { 1.0 })
            .collect::<Vec<f64>>()
    };
    let tokens = |rng: &mut Rng| {
        (0..b * t)
            .map(|_| 4 + rng.below(200) as i64)
            .collect::<Vec<i64>>()
    };
    match model {
        "vl" => Inputs {
            f64s: vec![
                (
                    "image",
                    vec![b, c.channels, c.image, c.image],
                    normal(rng, b * c.channels * c.image * c.image),
                ),
                (
                    "patch_keep",
                    vec![b, c.patches()],
                    keep(rng, b * c.patches()),
                ),
                ("target_plan", vec![b, k, d], normal(rng, b * k * d)),
            ],
            i64s: vec![("tokens", vec![b, t], tokens(rng))],
        },
        "txt" => Inputs {
            f64s: vec![
                ("token_keep", vec![b, t], keep(rng, b * t)),
                ("target_embeddings", vec![b, t, d], normal(rng, b * t * d)),
            ],
            i64s: vec![("tokens", vec![b, t], tokens(rng))],
        },
        _ => Inputs {
            f64s: vec![
                ("plan", vec![b, k, d], normal(rng, b * k * d)),
                ("target_weights", vec![b, t], vec![1.0; b * t]),
            ],
            i64s: vec![
                ("tokens", vec![b, t], tokens(rng)),
                ("targets", vec![b, t], tokens(rng)),
            ],
        },
    }
}

fn data(inp: &Inputs) -> Vec<(&'static str, Data<'_>)> {
    let mut v: Vec<(&str, Data<'_>)> = inp
        .f64s
        .iter()
        .map(|(n, s, x)| (*n, Data::F64(s.clone(), x)))
        .collect();
    v.extend(
        inp.i64s
            .iter()
            .map(|(n, s, x)| (*n, Data::I64(s.clone(), x))),
    );
    v
}

fn check(model_name: &str) {
    let source = GraphSource::parse("tiny").unwrap();
    let manifest = source.manifest().unwrap();
    let mut model = JepaModel::new(&source, &manifest, model_name, Device::Cpu, 1).unwrap();
    let mut rng = Rng::new(5);
    // Perturb the init so zero-initialised tensors (FiLM, biases) get generic gradients too.
    let mut params: Vec<f64> = model
        .init_params(1)
        .data
        .iter()
        .map(|&x| f64::from(x) + 0.05 * rng.normal())
        .collect();
    let inp = inputs(model_name, &mut rng);
    let layout = model.layout.clone();
    let out = model
        .gradients("grad_f64", ParamFeed::F64(&params), &data(&inp))
        .unwrap();
    let grad = out.gather_f64("grad.", &layout).unwrap();
    let mut loss_at = |p: &[f64]| {
        model
            .gradients("grad_f64", ParamFeed::F64(p), &data(&inp))
            .unwrap()
            .scalar("loss")
            .unwrap()
    };
    let rel = |a: f64, b: f64| (a - b).abs() / a.abs().max(b.abs()).max(1e-300);
    let mut worst = 0f64;
    let h = 1e-5;
    for i in 0..layout.specs.len() {
        let range = layout.range(i);
        let j = range
            .clone()
            .max_by(|&a, &b| grad[a].abs().total_cmp(&grad[b].abs()))
            .unwrap();
        let x = params[j];
        params[j] = x + h;
        let up = loss_at(&params);
        params[j] = x - h;
        let down = loss_at(&params);
        params[j] = x;
        let fd = (up - down) / (2.0 * h);
        if grad[j].abs() < 1e-10 {
            // Structurally zero gradients (attention key biases: softmax ignores a shift per
            // query) are checked absolutely; their relative error is rounding noise.
            assert!(
                fd.abs() < 1e-8,
                "{model_name} {}: fd {fd} vs graph {}",
                layout.specs[i].name,
                grad[j]
            );
            continue;
        }
        let e = rel(fd, grad[j]);
        assert!(
            e <= 1e-4,
            "{model_name} {}[{}]: fd {fd} vs graph {}",
            layout.specs[i].name,
            j - range.start,
            grad[j]
        );
        worst = worst.max(e);
    }
    for _ in 0..3 {
        let dir: Vec<f64> = (0..params.len()).map(|_| rng.normal()).collect();
        let along = |s: f64| {
            params
                .iter()
                .zip(&dir)
                .map(|(p, d)| p + s * d)
                .collect::<Vec<f64>>()
        };
        let fd = (loss_at(&along(h)) - loss_at(&along(-h))) / (2.0 * h);
        let analytic: f64 = grad.iter().zip(&dir).map(|(g, d)| g * d).sum();
        let e = rel(fd, analytic);
        assert!(
            e <= 1e-4,
            "{model_name} direction: fd {fd} vs graph {analytic}"
        );
        worst = worst.max(e);
    }
    eprintln!("{model_name}: max relative error {worst:.2e}");
}

#[test]
fn vl_jepa_gradient_matches_finite_differences() {
    check("vl");
}

#[test]
fn text_jepa_gradient_matches_finite_differences() {
    check("txt");
}

#[test]
fn decoder_gradient_matches_finite_differences() {
    check("dec");
}
