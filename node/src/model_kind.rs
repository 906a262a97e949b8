//! Which model a network trains: the one place a kind is named, built and sized, shared by
//! `autonet simulate`, `autonet testnet` and `autonet join --role`.

/// The model the network trains (the extension point: add a kind here and a
/// `autonet_actors::protocol::model::TrainingModel` implementation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelKind {
    /// The world-model substrate (deterministic; verified by recompute).
    Substrate,
    /// VL-JEPA on ONNX Runtime, tiny graphs on CPU: weight deltas verified by recomputation and
    /// held-out loss, merged by a trimmed mean (needs the ONNX Runtime library).
    Jepa,
}

impl ModelKind {
    /// The model implementation.
    pub fn build(
        self,
    ) -> anyhow::Result<std::sync::Arc<dyn autonet_actors::protocol::model::TrainingModel>> {
        match self {
            ModelKind::Substrate => Ok(std::sync::Arc::new(
                autonet_actors::protocol::model::Substrate::new()?,
            )),
            ModelKind::Jepa => {
                // Load ONNX Runtime now: without it every solver would fail deep inside its
                // first training step and the run would wait for them until its timeout.
                autonet_models::jepa::runtime::environment()?;
                Ok(std::sync::Arc::new(
                    autonet_actors::protocol::jepa::Jepa::new()?,
                ))
            }
        }
    }

    /// Default (batch, slice, held-out) sizes of a task, in items.
    pub fn default_sizes(self) -> (usize, usize, usize) {
        match self {
            ModelKind::Substrate => (16, 4, 4),
            // Three 96-image slices of 256 images: six training steps of 16 per solver.
            ModelKind::Jepa => (256, 96, 32),
        }
    }

    /// How many (training, held-out) items the model's data holds.
    pub fn pool_sizes(self) -> anyhow::Result<(usize, usize)> {
        use autonet_actors::protocol::data::{held_out_turns, training_turns};
        match self {
            ModelKind::Substrate => Ok((training_turns().len(), held_out_turns().len())),
            ModelKind::Jepa => {
                let (train, held) = autonet_models::jepa::data::committed_digits()?;
                Ok((train.len(), held.len()))
            }
        }
    }
}
