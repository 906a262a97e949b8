//! The whole local pipeline used by `autonet infer --model jepa` and inference peers: train
//! VL-JEPA and the decoder on the committed digits, then answer queries (an image and a prompt)
//! through two-speed routing and the local decoder.
//!
//! Training is resumable: step i of each stage draws its batch from a generator seeded by
//! (seed, stage, i) alone, so training to N steps, saving a checkpoint
//! ([`super::checkpoint`]), restoring it and training on to M steps gives exactly the model
//! that training straight to M steps gives.

use super::data::{Digit, caption, committed_digits, tokenize};
use super::decoder::TextDecoder;
use super::error::JepaError;
use super::manifest::GraphSource;
use super::plan_wire::{PlanRequest, params_id};
use super::rng::Rng;
use super::runtime::Device;
use super::two_speed::{Path, PlanSource, TwoSpeed, TwoSpeedConfig};
use super::vl::{LossParts, VlBatch, VlJepa};

/// Trained VL-JEPA and decoder with a plan cache.
#[derive(Debug)]
pub struct Pipeline {
    /// The encoder.
    pub vl: VlJepa,
    /// The local decoder.
    pub decoder: TextDecoder,
    /// Plan cache and router.
    pub router: TwoSpeed,
    /// Per-coordinate mean and standard deviation of the encoder's plans over training images;
    /// the decoder reads standardised plans (the differences between images are small next to
    /// the plan's shared component, and standardising them keeps the decoder from ignoring them).
    pub plan_stats: Option<(Vec<f32>, Vec<f32>)>,
    /// Training done so far.
    pub progress: Progress,
}

/// Steps taken by each training stage, and the seed of their batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    /// VL-JEPA steps.
    pub vl_steps: u64,
    /// Decoder steps.
    pub dec_steps: u64,
    /// Batch seed (a checkpoint resumes only with the same seed).
    pub seed: u64,
}

/// What training did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainReport {
    /// VL-JEPA loss parts of the first and last step.
    pub vl_first: Option<LossParts>,
    /// Last VL-JEPA step.
    pub vl_last: Option<LossParts>,
    /// Decoder loss of the first and last step.
    pub dec_first: f64,
    /// Last decoder step.
    pub dec_last: f64,
}

/// One answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Decoded text.
    pub text: String,
    /// Which path produced the plan.
    pub path: Path,
}

impl Pipeline {
    /// Fresh models from a graph set.
    pub fn new(source: &GraphSource, device: Device, seed: u64) -> Result<Self, JepaError> {
        Ok(Pipeline {
            vl: VlJepa::new(source, device, seed)?,
            decoder: TextDecoder::new(source, device, seed.wrapping_add(1))?,
            router: TwoSpeed::new(TwoSpeedConfig::default()),
            plan_stats: None,
            progress: Progress::default(),
        })
    }

    /// Trains until `vl_steps` VL-JEPA steps and then `dec_steps` decoder steps have been taken
    /// in all (steps already taken, e.g. restored from a checkpoint, count; batches come from
    /// `seed`, which must be the seed of the steps already taken). Decoder steps learn from
    /// plans of the trained encoder (images with the neutral prompt "digit", label captions as
    /// targets); if the encoder trained on, the plan statistics are recomputed and the decoder
    /// keeps training from where it was. The report covers the steps taken by this call.
    pub fn train(
        &mut self,
        vl_steps: usize,
        dec_steps: usize,
        seed: u64,
    ) -> Result<TrainReport, JepaError> {
        self.train_with_progress(vl_steps, dec_steps, seed, &mut |_| {})
    }

    /// [`Pipeline::train`], calling `on_step` with the progress after every step (a progress
    /// bar; training the default graphs takes minutes).
    pub fn train_with_progress(
        &mut self,
        vl_steps: usize,
        dec_steps: usize,
        seed: u64,
        on_step: &mut dyn FnMut(&Progress),
    ) -> Result<TrainReport, JepaError> {
        if self.progress != Progress::default() && self.progress.seed != seed {
            return Err(JepaError::Data(format!(
                "training was seeded with {}, not {seed}; it cannot resume with another seed",
                self.progress.seed
            )));
        }
        self.progress.seed = seed;
        let (train, _) = committed_digits()?;
        let b = self.vl.config.batch;
        let mut report = TrainReport {
            vl_first: None,
            vl_last: None,
            dec_first: f64::NAN,
            dec_last: f64::NAN,
        };
        let vl_before = self.progress.vl_steps;
        while self.progress.vl_steps < vl_steps as u64 {
            let mut rng = step_rng(seed, 0, self.progress.vl_steps);
            let picked: Vec<&Digit> = (0..b).map(|_| &train[rng.below(train.len())]).collect();
            let parts = self
                .vl
                .step(&VlBatch::new(&picked, &self.vl.config, None, &mut rng))?;
            report.vl_first.get_or_insert(parts);
            report.vl_last = Some(parts);
            self.progress.vl_steps += 1;
            on_step(&self.progress);
        }
        let params = self.vl.state.params.clone();
        if self.plan_stats.is_none() || self.progress.vl_steps != vl_before {
            let mut rng = step_rng(seed, 1, self.progress.vl_steps);
            let sample: Vec<&Digit> = (0..256).map(|_| &train[rng.below(train.len())]).collect();
            let plans = self.vl.plans(
                &params,
                &VlBatch::new(&sample, &self.vl.config, Some("digit"), &mut rng),
                true,
            )?;
            self.plan_stats = Some(plan_statistics(
                &plans,
                self.vl.config.latents * self.vl.config.dim,
            ));
        }
        while self.progress.dec_steps < dec_steps as u64 {
            let mut rng = step_rng(seed, 2, self.progress.dec_steps);
            let picked: Vec<&Digit> = (0..b).map(|_| &train[rng.below(train.len())]).collect();
            let batch = VlBatch::new(&picked, &self.vl.config, Some("digit"), &mut rng);
            let raw = self.vl.plans(&params, &batch, true)?;
            let plans = self.standardise(raw);
            let captions: Vec<String> = picked.iter().map(|d| caption(d.label)).collect();
            let loss = self.decoder.train_step(&plans, &captions)?;
            if report.dec_first.is_nan() {
                report.dec_first = loss;
            }
            report.dec_last = loss;
            self.progress.dec_steps += 1;
            on_step(&self.progress);
        }
        Ok(report)
    }

    /// Answers a query (an image and a prompt): the local plan and its pooled embedding route
    /// through the two-speed cache; the chosen plan is decoded locally.
    pub fn answer(
        &mut self,
        digit: &Digit,
        prompt: &str,
        peers: &mut dyn PlanSource,
    ) -> Result<Answer, JepaError> {
        let mut rng = Rng::new(0);
        let batch = VlBatch::new(&[digit], &self.vl.config, Some(prompt), &mut rng);
        let params = self.vl.state.params.clone();
        let local_plan = self.vl.plans(&params, &batch, true)?;
        let query = self.vl.pooled(&params, &batch)?;
        let length = tokenize(prompt, self.vl.config.text_len)
            .iter()
            .filter(|&&t| t != 0)
            .count();
        let request = PlanRequest::new(digit, prompt, &self.vl.model.layout);
        let (plan, path) = self
            .router
            .choose(&query, length, &local_plan, &request, peers);
        let plan = self.standardise(plan);
        Ok(Answer {
            text: self.decoder.generate(&plan)?,
            path,
        })
    }

    /// What an inference peer answers: the plan (K·D values) of its own encoder for a decoded
    /// [`PlanRequest`] (full image, the request's prompt).
    pub fn plan_for(&mut self, request: &PlanRequest) -> Result<Vec<f32>, JepaError> {
        let digit = request.digit();
        let batch = VlBatch::new(
            &[&digit],
            &self.vl.config,
            Some(&request.prompt),
            &mut Rng::new(0),
        );
        let params = self.vl.state.params.clone();
        self.vl.plans(&params, &batch, true)
    }

    /// Content id of the encoder parameters that answer ([`params_id`]).
    pub fn model_id(&self) -> [u8; 32] {
        params_id(&self.vl.state.params)
    }

    /// Greedy captions of `digits` with the prompt "digit", offline: (fraction equal to the
    /// label caption, number of distinct captions). A collapsed decoder gives one caption.
    pub fn caption_accuracy(&mut self, digits: &[Digit]) -> Result<(f64, usize), JepaError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut correct = 0usize;
        let saved = std::mem::take(&mut self.router);
        for d in digits {
            // A fresh router per query: every caption comes from the image's own plan.
            self.router = TwoSpeed::new(saved.config);
            let answer = self.answer(d, "digit", &mut super::two_speed::Offline)?;
            correct += usize::from(answer.text == caption(d.label));
            seen.insert(answer.text);
        }
        self.router = saved;
        Ok((correct as f64 / digits.len().max(1) as f64, seen.len()))
    }

    fn standardise(&self, mut plans: Vec<f32>) -> Vec<f32> {
        if let Some((mean, std)) = &self.plan_stats {
            for chunk in plans.chunks_mut(mean.len()) {
                chunk
                    .iter_mut()
                    .zip(mean.iter().zip(std))
                    .for_each(|(x, (m, s))| *x = (*x - m) / s);
            }
        }
        plans
    }
}

/// The batch generator of step `i` of training stage `stage` (0 encoder, 1 plan statistics,
/// 2 decoder).
fn step_rng(seed: u64, stage: u64, i: u64) -> Rng {
    let mut mix = Rng::new(seed ^ stage.wrapping_mul(0xA24B_AED4_963E_E407));
    Rng::new(mix.next_u64() ^ i.wrapping_mul(0x9FB2_1C65_1E98_DF25))
}

/// Per-coordinate mean and standard deviation (floored at 1e-3) of plans of `width` values.
fn plan_statistics(plans: &[f32], width: usize) -> (Vec<f32>, Vec<f32>) {
    let n = (plans.len() / width.max(1)).max(1) as f32;
    let mut mean = vec![0f32; width];
    for chunk in plans.chunks_exact(width) {
        mean.iter_mut().zip(chunk).for_each(|(m, x)| *m += x / n);
    }
    let mut var = vec![0f32; width];
    for chunk in plans.chunks_exact(width) {
        var.iter_mut()
            .zip(chunk.iter().zip(&mean))
            .for_each(|(v, (x, m))| *v += (x - m) * (x - m) / n);
    }
    (mean, var.iter().map(|v| v.sqrt().max(1e-3)).collect())
}
