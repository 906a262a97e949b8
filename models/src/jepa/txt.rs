//! TextJEPA training: the context encoder sees the text with 20% of its tokens replaced by a
//! learned mask token; the predictor predicts the EMA target encoder's embeddings of the hidden
//! tokens (smooth-L1 on hidden positions only), with the same anti-collapse terms as VL-JEPA.

use super::data::{PAD, tokenize};
use super::error::JepaError;
use super::manifest::{Config, GraphSource};
use super::model::{JepaModel, TrainState};
use super::params::ParamSet;
use super::rng::Rng;
use super::runtime::Device;
use super::session::Data;
use super::vl::LossParts;

/// Fraction of (non-padding) tokens hidden from the context encoder.
pub const TEXT_MASK_RATIO: f64 = 0.2;

/// Inputs of one text batch.
#[derive(Debug, Clone)]
pub struct TextBatch {
    /// Tokens (n, T).
    pub tokens: Vec<i64>,
    /// 1 where the context encoder sees the token (n, T).
    pub keep: Vec<f32>,
    /// Batch size.
    pub n: usize,
}

impl TextBatch {
    /// Tokenizes `texts` and hides a random 20% (at least one) of each text's tokens.
    pub fn new(texts: &[&str], config: &Config, rng: &mut Rng) -> Self {
        let mut b = TextBatch {
            tokens: Vec::new(),
            keep: Vec::new(),
            n: texts.len(),
        };
        for text in texts {
            let tokens = tokenize(text, config.text_len);
            let real: Vec<usize> = (0..tokens.len()).filter(|&i| tokens[i] != PAD).collect();
            let hide = ((real.len() as f64 * TEXT_MASK_RATIO).round() as usize)
                .max(1)
                .min(real.len());
            let mut keep = vec![1f32; tokens.len()];
            let mut order = real.clone();
            for i in (1..order.len()).rev() {
                order.swap(i, rng.below(i + 1));
            }
            order.iter().take(hide).for_each(|&i| keep[i] = 0.0);
            b.tokens.extend(tokens);
            b.keep.extend(keep);
        }
        b
    }
}

/// A TextJEPA being trained.
#[derive(Debug)]
pub struct TextJepa {
    /// Graphs and layout.
    pub model: JepaModel,
    /// Sizes.
    pub config: Config,
    /// Online parameters and AdamW state.
    pub state: TrainState,
    /// EMA target parameters (only the encoder part is read by the target forward).
    pub target: ParamSet,
    /// EMA momentum.
    pub momentum: f32,
    /// AdamW learning rate.
    pub lr: f32,
}

impl TextJepa {
    /// A freshly initialised model from a graph set.
    pub fn new(source: &GraphSource, device: Device, seed: u64) -> Result<Self, JepaError> {
        let manifest = source.manifest()?;
        let model = JepaModel::new(source, &manifest, "txt", device, 1)?;
        let params = model.init_params(seed);
        Ok(TextJepa {
            config: manifest.config.clone(),
            target: params.clone(),
            state: TrainState::new(params),
            model,
            momentum: 0.99,
            lr: 3e-3,
        })
    }

    /// Target-encoder embeddings (n, T, D) of the full texts.
    pub fn embeddings(
        &mut self,
        params: &ParamSet,
        batch: &TextBatch,
    ) -> Result<Vec<f32>, JepaError> {
        let ones = vec![1f32; batch.keep.len()];
        let shape = vec![batch.n, self.config.text_len];
        let data = [
            ("tokens", Data::I64(shape.clone(), &batch.tokens)),
            ("token_keep", Data::F32(shape, &ones)),
        ];
        Ok(self.model.infer(params, &data)?.1)
    }

    fn check(&self, batch: &TextBatch) -> Result<(), JepaError> {
        if batch.n == self.config.batch {
            Ok(())
        } else {
            Err(JepaError::Shape(format!(
                "training batches hold {} texts, got {}",
                self.config.batch, batch.n
            )))
        }
    }

    /// Inputs of the loss graphs: the masked batch and the target's embeddings of it.
    fn loss_data<'a>(
        &self,
        batch: &'a TextBatch,
        target: &'a [f32],
    ) -> [(&'static str, Data<'a>); 3] {
        let c = &self.config;
        let shape = vec![batch.n, c.text_len];
        [
            ("tokens", Data::I64(shape.clone(), &batch.tokens)),
            ("token_keep", Data::F32(shape, &batch.keep)),
            (
                "target_embeddings",
                Data::F32(vec![batch.n, c.text_len, c.dim], target),
            ),
        ]
    }

    /// One training step (target embeddings, AdamW step, EMA).
    pub fn step(&mut self, batch: &TextBatch) -> Result<LossParts, JepaError> {
        self.check(batch)?;
        let target_params = self.target.clone();
        let target = self.embeddings(&target_params, batch)?;
        let data = self.loss_data(batch, &target);
        let lr = self.lr;
        let out = self.model.train_step(&mut self.state, lr, &data)?;
        self.target.ema_toward(&self.state.params, self.momentum)?;
        LossParts::from_outputs(&out)
    }

    /// Loss of `params` on a batch against the current target.
    pub fn evaluate(
        &mut self,
        params: &ParamSet,
        batch: &TextBatch,
    ) -> Result<LossParts, JepaError> {
        self.check(batch)?;
        let target_params = self.target.clone();
        let target = self.embeddings(&target_params, batch)?;
        let data = self.loss_data(batch, &target);
        LossParts::from_outputs(&self.model.loss(params, &data)?)
    }
}
