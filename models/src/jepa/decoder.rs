//! The local text decoder: FiLM-conditioned on the mean of a latent plan, with the plan as a
//! prefix and as cross-attention memory (scripts/jepa-graphs/models.py `dec_logits_of`).
//! Trained by cross-entropy on captions; generates greedily from a plan.

use super::data::{BOS, EOS, PAD, detokenize, tokenize};
use super::error::JepaError;
use super::manifest::{Config, GraphSource};
use super::model::{JepaModel, TrainState};
use super::runtime::Device;
use super::session::Data;

/// A text decoder being trained or used.
#[derive(Debug)]
pub struct TextDecoder {
    /// Graphs and layout.
    pub model: JepaModel,
    /// Sizes.
    pub config: Config,
    /// Parameters and AdamW state.
    pub state: TrainState,
    /// AdamW learning rate.
    pub lr: f32,
}

impl TextDecoder {
    /// A freshly initialised decoder from a graph set.
    pub fn new(source: &GraphSource, device: Device, seed: u64) -> Result<Self, JepaError> {
        let manifest = source.manifest()?;
        let model = JepaModel::new(source, &manifest, "dec", device, 1)?;
        let params = model.init_params(seed);
        Ok(TextDecoder {
            config: manifest.config.clone(),
            state: TrainState::new(params),
            model,
            lr: 3e-3,
        })
    }

    fn check_plans(&self, plans: &[f32], n: usize) -> Result<(), JepaError> {
        let want = n * self.config.latents * self.config.dim;
        if plans.len() == want {
            Ok(())
        } else {
            Err(JepaError::Shape(format!(
                "{n} plans need {want} values, got {}",
                plans.len()
            )))
        }
    }

    /// One cross-entropy AdamW step on (plan, caption) pairs; returns the loss before the step.
    pub fn train_step(&mut self, plans: &[f32], captions: &[String]) -> Result<f64, JepaError> {
        let c = &self.config;
        let (n, t) = (captions.len(), c.text_len);
        if n != c.batch {
            return Err(JepaError::Shape(format!(
                "decoder batches hold {} captions, got {n}",
                c.batch
            )));
        }
        self.check_plans(plans, n)?;
        let mut inputs = Vec::with_capacity(n * t);
        let mut targets = Vec::with_capacity(n * t);
        let mut weights = Vec::with_capacity(n * t);
        for text in captions {
            let target = tokenize(text, t);
            inputs.push(BOS);
            inputs.extend_from_slice(&target[..t - 1]);
            weights.extend(target.iter().map(|&x| if x == PAD { 0f32 } else { 1.0 }));
            targets.extend(target);
        }
        let data = [
            ("plan", Data::F32(vec![n, c.latents, c.dim], plans)),
            ("tokens", Data::I64(vec![n, t], &inputs)),
            ("targets", Data::I64(vec![n, t], &targets)),
            ("target_weights", Data::F32(vec![n, t], &weights)),
        ];
        let lr = self.lr;
        self.model
            .train_step(&mut self.state, lr, &data)?
            .scalar("loss")
    }

    /// Greedy decoding from one plan (K·D values), up to the text length or EOS.
    pub fn generate(&mut self, plan: &[f32]) -> Result<String, JepaError> {
        self.check_plans(plan, 1)?;
        let (t, v) = (self.config.text_len, self.config.vocab);
        let (k, d) = (self.config.latents, self.config.dim);
        let mut tokens = vec![PAD; t];
        tokens[0] = BOS;
        let mut out = Vec::new();
        for i in 0..t {
            let data = [
                ("plan", Data::F32(vec![1, k, d], plan)),
                ("tokens", Data::I64(vec![1, t], &tokens)),
            ];
            let params = self.state.params.clone();
            let (_, logits) = self.model.infer(&params, &data)?;
            let row = logits
                .get(i * v..(i + 1) * v)
                .ok_or_else(|| JepaError::Shape("logits too short".to_string()))?;
            let next = row
                .iter()
                .enumerate()
                .fold(0, |best, (j, &x)| if x > row[best] { j } else { best })
                as i64;
            if next == EOS {
                break;
            }
            out.push(next);
            if i + 1 < t {
                tokens[i + 1] = next;
            }
        }
        Ok(detokenize(&out))
    }
}
