use std::time::{Duration, Instant};

use anyhow::Context;
use autonet_models::jepa::data::committed_digits;
use autonet_models::jepa::resident::ResidentTrainer;
use autonet_models::jepa::rng::Rng;
use autonet_models::jepa::{Device, GraphSource, TrainState, VlBatch, VlJepa};
use clap::Args;

use super::{BenchReport, Measurement};

/// VL-JEPA on ONNX Runtime. `--mode steps`: training steps (forward + loss + reverse-mode
/// gradients + AdamW, one graph) against the forward loss alone on the same batch, plus encoder
/// inference latency at batch 1 and 32. `--mode binding`: the train step with parameters and
/// optimizer state resident on the device (IoBinding) against copying them every step.
#[derive(Debug, Args)]
pub struct JepaBench {
    /// Graph set: `tiny`, `default` (the prototype's ~18M-parameter preset) or a folder.
    #[arg(long, default_value = "tiny", env = "AUTONET_BENCH_JEPA_GRAPHS")]
    pub graphs: String,
    /// `cpu` or `cuda`.
    #[arg(long, default_value = "cpu", env = "AUTONET_BENCH_JEPA_DEVICE")]
    pub device: String,
    /// Timed training steps (and forward passes).
    #[arg(long, default_value_t = 20, env = "AUTONET_BENCH_JEPA_STEPS", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub steps: u64,
    /// Timed inference calls per batch size.
    #[arg(long, default_value_t = 20, env = "AUTONET_BENCH_JEPA_CALLS", value_parser = crate::cli::bounds::count(1..=1_000_000))]
    pub calls: usize,
    /// `steps` (train step vs forward loss; inference latency) or `binding` (IoBinding vs copying).
    #[arg(long, default_value = "steps", env = "AUTONET_BENCH_JEPA_MODE")]
    pub mode: String,
    /// ONNX Runtime intra-op threads.
    #[arg(long, default_value_t = 1, env = "AUTONET_BENCH_JEPA_THREADS", value_parser = crate::cli::bounds::count(1..=1_024))]
    pub threads: usize,
}

impl JepaBench {
    fn binding(&self, vl: &mut VlJepa, batch: &VlBatch) -> anyhow::Result<BenchReport> {
        let params = vl.state.params.clone();
        let target = vl.plans(&params, batch, true)?;
        let data = vl.loss_data(batch, &target)?;
        let mut state = TrainState::new(params);
        vl.model
            .train_step(&mut state, 1e-4, &data)
            .context("warm-up training step")?;
        let start = Instant::now();
        for _ in 0..self.steps {
            vl.model.train_step(&mut state, 1e-4, &data)?;
        }
        let baseline = Measurement::new(
            "train step, state copied in and out",
            start.elapsed(),
            self.steps,
            "steps",
        );
        let bytes = vl.model.graph_bytes("train_step")?;
        let mut resident =
            ResidentTrainer::new(&vl.model, &bytes, &state, vl.model.device(), self.threads)?;
        resident
            .step(1e-4, &data)
            .context("warm-up resident step")?;
        let start = Instant::now();
        for _ in 0..self.steps {
            resident.step(1e-4, &data)?;
        }
        let measured = Measurement::new(
            "train step, state resident (IoBinding)",
            start.elapsed(),
            self.steps,
            "steps",
        );
        let setup = format!(
            "graphs {}, device {}, {} threads, {} steps, {} parameters",
            self.graphs,
            self.device,
            self.threads,
            self.steps,
            state.params.data.len()
        );
        let mut report = BenchReport::new("jepa", setup, baseline, measured);
        report.notes.push(format!(
            "resident speed-up over copying: {:.2}x",
            1.0 / report.time_ratio
        ));
        Ok(report)
    }
}

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples
        .get(samples.len() / 2)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}

impl JepaBench {
    pub fn run(&self) -> anyhow::Result<BenchReport> {
        anyhow::ensure!(
            self.steps > 0 && self.calls > 0,
            "--steps and --calls must be at least 1"
        );
        let device: Device = self.device.parse()?;
        let source = GraphSource::parse(&self.graphs)?;
        let mut vl = VlJepa::new(&source, device, 1)?;
        vl.model.set_threads(self.threads);
        let (train, _) = committed_digits()?;
        let c = vl.config.clone();
        let mut rng = Rng::new(3);
        let batch_of = |n: usize, rng: &mut Rng| {
            let picked: Vec<_> = (0..n).map(|_| &train[rng.below(train.len())]).collect();
            VlBatch::new(&picked, &c, None, rng)
        };
        let batch = batch_of(c.batch, &mut rng);
        if self.mode == "binding" {
            return self.binding(&mut vl, &batch);
        }
        anyhow::ensure!(
            self.mode == "steps",
            "--mode must be `steps` or `binding`, not {:?}",
            self.mode
        );
        // Warm-up: opens the sessions and lets ONNX Runtime plan its memory.
        vl.step(&batch).context("warm-up training step")?;
        let params = vl.state.params.clone();
        vl.evaluate(&params, &batch)?;

        let start = Instant::now();
        for _ in 0..self.steps {
            vl.evaluate(&params, &batch)?;
        }
        let baseline = Measurement::new(
            "forward loss (target plan + loss graph)",
            start.elapsed(),
            self.steps,
            "steps",
        );
        let start = Instant::now();
        for _ in 0..self.steps {
            vl.step(&batch)?;
        }
        let measured = Measurement::new(
            "train step (target plan + grad + AdamW + EMA)",
            start.elapsed(),
            self.steps,
            "steps",
        );

        let mut notes = Vec::new();
        let params_total = vl.state.params.data.len();
        notes.push(format!(
            "VL-JEPA parameters: {params_total}; batch {}",
            c.batch
        ));
        notes.push(format!("train steps/s: {:.2}", measured.throughput()));
        let mut per_sample = Vec::new();
        for n in [1usize, 32] {
            let b = batch_of(n, &mut rng);
            vl.plans(&params, &b, true)?;
            let samples: Vec<Duration> = (0..self.calls)
                .map(|_| {
                    let t = Instant::now();
                    vl.plans(&params, &b, true).map(|_| t.elapsed())
                })
                .collect::<Result<_, _>>()?;
            let ms = median_ms(samples);
            per_sample.push(ms / n as f64);
            notes.push(format!(
                "encoder inference latency, batch {n}: {ms:.3} ms (median of {})",
                self.calls
            ));
        }
        if let [one, many] = per_sample[..] {
            notes.push(format!(
                "per-sample speed-up of batch 32 over batch 1: {:.2}x",
                one / many
            ));
        }
        let setup = format!(
            "graphs {}, device {}, {} threads, {} steps",
            self.graphs, self.device, self.threads, self.steps
        );
        let mut report = BenchReport::new("jepa", setup, baseline, measured);
        report.notes = notes;
        Ok(report)
    }
}
