//! The whole local pipeline used by `autonet infer --model jepa` and `autonet bench jepa`:
//! train VL-JEPA and the decoder on the committed digits, then answer queries (an image and a
//! prompt) through two-speed routing and the local decoder.

use super::data::{Digit, caption, committed_digits, tokenize};
use super::decoder::TextDecoder;
use super::error::JepaError;
use super::manifest::GraphSource;
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
        })
    }

    /// `vl_steps` VL-JEPA steps, then `dec_steps` decoder steps on plans of the trained encoder
    /// (images with the neutral prompt "digit", label captions as targets).
    pub fn train(
        &mut self,
        vl_steps: usize,
        dec_steps: usize,
        seed: u64,
    ) -> Result<TrainReport, JepaError> {
        let (train, _) = committed_digits()?;
        let b = self.vl.config.batch;
        let mut rng = Rng::new(seed);
        let mut report = TrainReport {
            vl_first: None,
            vl_last: None,
            dec_first: f64::NAN,
            dec_last: f64::NAN,
        };
        for _ in 0..vl_steps {
            let picked: Vec<&Digit> = (0..b).map(|_| &train[rng.below(train.len())]).collect();
            let parts = self
                .vl
                .step(&VlBatch::new(&picked, &self.vl.config, None, &mut rng))?;
            report.vl_first.get_or_insert(parts);
            report.vl_last = Some(parts);
        }
        let params = self.vl.state.params.clone();
        for i in 0..dec_steps {
            let picked: Vec<&Digit> = (0..b).map(|_| &train[rng.below(train.len())]).collect();
            let batch = VlBatch::new(&picked, &self.vl.config, Some("digit"), &mut rng);
            let plans = self.vl.plans(&params, &batch, true)?;
            let captions: Vec<String> = picked.iter().map(|d| caption(d.label)).collect();
            let loss = self.decoder.train_step(&plans, &captions)?;
            if i == 0 {
                report.dec_first = loss;
            }
            report.dec_last = loss;
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
        let (plan, path) = self.router.choose(&query, length, &local_plan, peers);
        Ok(Answer {
            text: self.decoder.generate(&plan)?,
            path,
        })
    }
}
