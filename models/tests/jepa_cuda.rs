//! CUDA parity of the train step (run on a machine with a GPU and the CUDA build of ONNX
//! Runtime; see issue "GPU checks of the JEPA path"):
//!
//! ```sh
//! ORT_DYLIB_PATH=/path/to/onnxruntime-gpu/libonnxruntime.so.1.31.1 \
//!   cargo nextest run -p autonet-models --features cuda --run-ignored only -E 'binary(jepa_cuda)' --no-capture
//! ```
//!
//! Ten VL-JEPA train steps from the same init and batches on CPU and on the CUDA provider (TF32
//! off) must agree within relative 1e-3, for the tiny and the default config. Ignored by default:
//! CI has no GPU.
#![cfg(feature = "cuda")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use autonet_models::jepa::data::committed_digits;
use autonet_models::jepa::rng::Rng;
use autonet_models::jepa::{Device, GraphSource, VlBatch, VlJepa};

fn train(config: &str, device: Device) -> (Vec<f32>, Vec<f64>) {
    let source = GraphSource::parse(config).unwrap();
    let mut vl = VlJepa::new(&source, device, 17).unwrap();
    let (train, _) = committed_digits().unwrap();
    let mut rng = Rng::new(5);
    let mut losses = Vec::new();
    for _ in 0..10 {
        let picked: Vec<_> = (0..vl.config.batch)
            .map(|_| &train[rng.below(train.len())])
            .collect();
        let batch = VlBatch::new(&picked, &vl.config, None, &mut rng);
        losses.push(vl.step(&batch).unwrap().loss);
    }
    (vl.state.params.data, losses)
}

fn parity(config: &str) {
    let (cpu, cpu_losses) = train(config, Device::Cpu);
    let (gpu, gpu_losses) = train(config, Device::Cuda);
    let diff: f64 = cpu
        .iter()
        .zip(&gpu)
        .map(|(a, b)| {
            let d = f64::from(*a) - f64::from(*b);
            d * d
        })
        .sum::<f64>()
        .sqrt();
    let norm: f64 = cpu
        .iter()
        .map(|a| {
            let x = f64::from(*a);
            x * x
        })
        .sum::<f64>()
        .sqrt();
    let rel = diff / norm;
    eprintln!(
        "{config}: CPU losses {cpu_losses:.5?}\n{config}: GPU losses {gpu_losses:.5?}\n{config}: relative parameter difference after 10 steps {rel:.3e}"
    );
    assert!(rel <= 1e-3, "{config}: CPU and CUDA differ by {rel}");
}

#[test]
#[ignore = "needs a CUDA GPU and the onnxruntime-gpu library"]
fn tiny_train_step_matches_cpu_on_cuda() {
    parity("tiny");
}

#[test]
#[ignore = "needs a CUDA GPU and the onnxruntime-gpu library"]
fn default_train_step_matches_cpu_on_cuda() {
    parity("default");
}
