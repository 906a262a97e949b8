//! VL-JEPA training on the committed digits: masked-image online path, EMA target path.
//!
//! A step: the target plan comes from the inference graph run with the EMA target parameters
//! on the full image; the train-step graph predicts it from the image with 25% of its patch
//! embeddings zeroed, adds the anti-collapse terms and applies AdamW; then the target moves
//! toward the online parameters (`ParamSet::ema_toward`). The EMA covers every parameter (the
//! target is a full copy of the online network, BYOL-style).

use super::data::{Digit, caption, push_image, push_patch_mask, tokenize};
use super::error::JepaError;
use super::manifest::{Config, GraphSource};
use super::model::{JepaModel, TrainState};
use super::params::ParamSet;
use super::rng::Rng;
use super::runtime::Device;
use super::session::{Data, Outputs};

/// Fraction of patch embeddings hidden from the online path.
pub const MASK_RATIO: f64 = 0.25;

/// Inputs of one batch.
#[derive(Debug, Clone)]
pub struct VlBatch {
    /// Images (n, C, H, W).
    pub images: Vec<f32>,
    /// Caption tokens (n, T).
    pub tokens: Vec<i64>,
    /// Patch-keep mask of the online path (n, P).
    pub keep: Vec<f32>,
    /// Digit labels.
    pub labels: Vec<u8>,
    /// Batch size.
    pub n: usize,
}

impl VlBatch {
    /// A batch of `digits` with their label captions (or `fixed_caption` for all of them) and
    /// random patch masks from `rng`.
    pub fn new(
        digits: &[&Digit],
        config: &Config,
        fixed_caption: Option<&str>,
        rng: &mut Rng,
    ) -> Self {
        let mut b = VlBatch {
            images: Vec::new(),
            tokens: Vec::new(),
            keep: Vec::new(),
            labels: Vec::new(),
            n: digits.len(),
        };
        for d in digits {
            push_image(&mut b.images, &d.pixels, config);
            let text = fixed_caption.map_or_else(|| caption(d.label), str::to_string);
            b.tokens.extend(tokenize(&text, config.text_len));
            push_patch_mask(&mut b.keep, config.patches(), MASK_RATIO, rng);
            b.labels.push(d.label);
        }
        b
    }
}

/// Loss parts of one evaluation or step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LossParts {
    /// Total loss.
    pub loss: f64,
    /// smooth-L1 prediction part.
    pub pred_loss: f64,
    /// Variance hinge.
    pub var_loss: f64,
    /// Covariance penalty.
    pub cov_loss: f64,
    /// Mean per-dimension standard deviation of the plan's latent vectors.
    pub embed_std: f64,
}

impl LossParts {
    /// Reads the parts from a loss or train-step graph's outputs.
    pub fn from_outputs(out: &Outputs) -> Result<Self, JepaError> {
        Ok(LossParts {
            loss: out.scalar("loss")?,
            pred_loss: out.scalar("pred_loss")?,
            var_loss: out.scalar("var_loss")?,
            cov_loss: out.scalar("cov_loss")?,
            embed_std: out.scalar("embed_std")?,
        })
    }
}

/// A VL-JEPA being trained.
#[derive(Debug)]
pub struct VlJepa {
    /// Graphs and layout.
    pub model: JepaModel,
    /// Sizes.
    pub config: Config,
    /// Online parameters and AdamW state.
    pub state: TrainState,
    /// EMA target parameters.
    pub target: ParamSet,
    /// EMA momentum m in θ_t ← m·θ_t + (1−m)·θ.
    pub momentum: f32,
    /// AdamW learning rate.
    pub lr: f32,
}

impl VlJepa {
    /// A freshly initialised model from a graph set.
    pub fn new(source: &GraphSource, device: Device, seed: u64) -> Result<Self, JepaError> {
        let manifest = source.manifest()?;
        let model = JepaModel::new(source, &manifest, "vl", device, 1)?;
        let params = model.init_params(seed);
        Ok(VlJepa {
            config: manifest.config.clone(),
            target: params.clone(),
            state: TrainState::new(params),
            model,
            momentum: 0.99,
            lr: 3e-3,
        })
    }

    /// Plans (n, K, D) of `params` for a batch; `full` shows every patch.
    pub fn plans(
        &mut self,
        params: &ParamSet,
        batch: &VlBatch,
        full: bool,
    ) -> Result<Vec<f32>, JepaError> {
        let c = &self.config;
        let ones = vec![1f32; batch.n * c.patches()];
        let keep = if full { &ones } else { &batch.keep };
        let data = [
            (
                "image",
                Data::F32(vec![batch.n, c.channels, c.image, c.image], &batch.images),
            ),
            (
                "tokens",
                Data::I64(vec![batch.n, c.text_len], &batch.tokens),
            ),
            ("patch_keep", Data::F32(vec![batch.n, c.patches()], keep)),
        ];
        Ok(self.model.infer(params, &data)?.1)
    }

    /// Mean over the K latent vectors of each plan: (n, D) features.
    pub fn pooled(&mut self, params: &ParamSet, batch: &VlBatch) -> Result<Vec<f32>, JepaError> {
        let (k, d) = (self.config.latents, self.config.dim);
        let plans = self.plans(params, batch, true)?;
        Ok(plans
            .chunks_exact(k * d)
            .flat_map(|plan| {
                (0..d).map(move |j| (0..k).map(|i| plan[i * d + j]).sum::<f32>() / k as f32)
            })
            .collect())
    }

    /// Inputs of the loss and train-step graphs: `batch` and the target's plans of it (an
    /// error unless `batch` is a full training batch).
    pub fn loss_data<'a>(
        &self,
        batch: &'a VlBatch,
        target: &'a [f32],
    ) -> Result<[(&'static str, Data<'a>); 4], JepaError> {
        let c = &self.config;
        if batch.n != c.batch {
            return Err(JepaError::Shape(format!(
                "training batches hold {} images, got {}",
                c.batch, batch.n
            )));
        }
        Ok([
            (
                "image",
                Data::F32(vec![batch.n, c.channels, c.image, c.image], &batch.images),
            ),
            (
                "tokens",
                Data::I64(vec![batch.n, c.text_len], &batch.tokens),
            ),
            (
                "patch_keep",
                Data::F32(vec![batch.n, c.patches()], &batch.keep),
            ),
            (
                "target_plan",
                Data::F32(vec![batch.n, c.latents, c.dim], target),
            ),
        ])
    }

    /// One training step (target plan, AdamW step, EMA); returns the step's loss parts.
    pub fn step(&mut self, batch: &VlBatch) -> Result<LossParts, JepaError> {
        let target_params = self.target.clone();
        let target = self.plans(&target_params, batch, true)?;
        let data = self.loss_data(batch, &target)?;
        let lr = self.lr;
        let out = self.model.train_step(&mut self.state, lr, &data)?;
        self.target.ema_toward(&self.state.params, self.momentum)?;
        LossParts::from_outputs(&out)
    }

    /// Loss of `params` on a batch against the current target.
    pub fn evaluate(&mut self, params: &ParamSet, batch: &VlBatch) -> Result<LossParts, JepaError> {
        let target_params = self.target.clone();
        let target = self.plans(&target_params, batch, true)?;
        let data = self.loss_data(batch, &target)?;
        LossParts::from_outputs(&self.model.loss(params, &data)?)
    }
}
