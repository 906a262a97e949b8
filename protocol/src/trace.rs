//! Agent turns as training data (issue 20 item 8; the agent runtime in `autonet-agents` records
//! them, proposers draw from them): every run of an agent is recorded as a
//! [`Trace`]: its turns in the shape the substrate's keyword embedder reads (the shipped
//! `protocol/data/agent-turns.jsonl`: messages, tool calls), signed by the peer that ran it and
//! addressed by the BLAKE3 hash of its encoding. Proposers draw task batches from the traces
//! they receive; a trace that is forged, altered, oversized or malformed is refused by
//! [`SignedTrace::verify`] before anything reads it.

use libp2p_identity::{Keypair, PeerId, PublicKey};
use serde::{Deserialize, Serialize};

/// The trace encoding's version.
pub const TRACE_VERSION: u32 = 1;
/// The most turns in one trace.
pub const MAX_TURNS: usize = 64;
/// The longest turn (one JSON object as text).
pub const MAX_TURN_BYTES: usize = 8 * 1024;
/// The largest encoded signed trace.
pub const MAX_TRACE_BYTES: usize = 256 * 1024;

/// How the recorded run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceOutcome {
    /// With an answer.
    Completed,
    /// With an error.
    Failed,
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// [`TRACE_VERSION`].
    pub version: u32,
    /// The agent (its id on its peer).
    pub agent: String,
    /// The run.
    pub execution: String,
    /// The peer that ran it (base58), which signs it.
    pub peer: String,
    /// When the run started (ms since the Unix epoch).
    pub started_ms: u64,
    /// The turns: JSON objects as text (`{"type":"message",…}`, `{"type":"tool_call",…}`).
    pub turns: Vec<String>,
    /// How it ended.
    pub outcome: TraceOutcome,
    /// Model tokens the run spent.
    pub tokens: u64,
}

/// A trace with its content id and its peer's signature over that id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTrace {
    /// The trace.
    pub trace: Trace,
    /// BLAKE3 of the trace's JSON encoding (hex).
    pub id: String,
    /// The signing peer's public key (libp2p protobuf encoding, hex).
    pub public_key: String,
    /// The signature over the id's 32 bytes (hex).
    pub signature: String,
}

/// Why a trace is refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TraceError {
    /// Too many turns, a turn too long, or the whole too large.
    #[error("trace too large: {0}")]
    TooLarge(String),
    /// A turn that is not a JSON object, or another field out of shape.
    #[error("malformed trace: {0}")]
    Malformed(String),
    /// The id is not the trace's hash.
    #[error("trace id does not match its content")]
    WrongId,
    /// The signature, key or peer do not agree.
    #[error("trace signature invalid: {0}")]
    BadSignature(String),
}

/// 1–64 characters of `[A-Za-z0-9._:-]` (agent ids; the agent layer's rule).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// A message turn.
pub fn message_turn(role: &str, content: &str) -> String {
    serde_json::json!({"type": "message", "role": role, "content": cut(content)}).to_string()
}

/// A tool-call turn (the arguments as the `command` text the embedder reads).
pub fn tool_call_turn(tool: &str, arguments: &serde_json::Value) -> String {
    let command = cut(&arguments.to_string());
    serde_json::json!({"type": "tool_call", "tool": tool, "command": command}).to_string()
}

/// A tool-result turn.
pub fn tool_result_turn(tool: &str, output: &str, is_error: bool) -> String {
    serde_json::json!({"type": "tool_result", "tool": tool, "content": cut(output), "is_error": is_error})
        .to_string()
}

/// Text cut to leave room for the JSON around it in a turn.
fn cut(text: &str) -> String {
    let limit = MAX_TURN_BYTES - 512;
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

impl Trace {
    /// Checks sizes and shapes.
    pub fn check(&self) -> Result<(), TraceError> {
        if self.version != TRACE_VERSION {
            return Err(TraceError::Malformed(format!("version {}", self.version)));
        }
        if self.turns.is_empty() || self.turns.len() > MAX_TURNS {
            return Err(TraceError::TooLarge(format!(
                "{} turns (1 to {MAX_TURNS})",
                self.turns.len()
            )));
        }
        if !valid_name(&self.agent) || !valid_name(&self.execution) {
            return Err(TraceError::Malformed("agent or execution name".into()));
        }
        for turn in &self.turns {
            if turn.len() > MAX_TURN_BYTES {
                return Err(TraceError::TooLarge(format!(
                    "a turn of {} bytes",
                    turn.len()
                )));
            }
            match serde_json::from_str::<serde_json::Value>(turn) {
                Ok(v) if v.is_object() => {}
                _ => return Err(TraceError::Malformed("a turn is not a JSON object".into())),
            }
        }
        Ok(())
    }

    /// The content id: BLAKE3 of the JSON encoding.
    pub fn id(&self) -> [u8; 32] {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        *blake3::hash(&bytes).as_bytes()
    }

    /// Signs the trace with the peer's key (its `peer` field is set to that key's peer id).
    pub fn sign(mut self, key: &Keypair) -> Result<SignedTrace, TraceError> {
        self.peer = key.public().to_peer_id().to_base58();
        self.check()?;
        let id = self.id();
        let signature = key
            .sign(&id)
            .map_err(|e| TraceError::BadSignature(e.to_string()))?;
        Ok(SignedTrace {
            trace: self,
            id: hex::encode(id),
            public_key: hex::encode(key.public().encode_protobuf()),
            signature: hex::encode(signature),
        })
    }
}

impl SignedTrace {
    /// Decodes and verifies a trace from bytes (gossip, a file): size bound first, then shape,
    /// id and signature.
    pub fn decode(bytes: &[u8]) -> Result<Self, TraceError> {
        if bytes.len() > MAX_TRACE_BYTES {
            return Err(TraceError::TooLarge(format!("{} bytes", bytes.len())));
        }
        let signed: SignedTrace =
            serde_json::from_slice(bytes).map_err(|e| TraceError::Malformed(e.to_string()))?;
        signed.verify()?;
        Ok(signed)
    }

    /// The encoding [`decode`](Self::decode) reads.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Checks shape, id, key, peer and signature.
    pub fn verify(&self) -> Result<(), TraceError> {
        self.trace.check()?;
        if hex::encode(self.trace.id()) != self.id {
            return Err(TraceError::WrongId);
        }
        let bad = |e: String| TraceError::BadSignature(e);
        let key_bytes = hex::decode(&self.public_key).map_err(|e| bad(e.to_string()))?;
        let key = PublicKey::try_decode_protobuf(&key_bytes).map_err(|e| bad(e.to_string()))?;
        let peer: PeerId = self
            .trace
            .peer
            .parse()
            .map_err(|_| bad("peer is not a peer id".into()))?;
        if key.to_peer_id() != peer {
            return Err(bad("the key is not the peer's".into()));
        }
        let signature = hex::decode(&self.signature).map_err(|e| bad(e.to_string()))?;
        let id = hex::decode(&self.id).map_err(|e| bad(e.to_string()))?;
        if !key.verify(&id, &signature) {
            return Err(bad("the signature does not verify".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> Trace {
        Trace {
            version: TRACE_VERSION,
            agent: "scribe".into(),
            execution: "e1".into(),
            peer: String::new(),
            started_ms: 1,
            turns: vec![
                message_turn("user", "Summarize the notes."),
                tool_call_turn("read_file", &serde_json::json!({"path": "notes.txt"})),
                message_turn("assistant", "The notes say the cache is stale."),
            ],
            outcome: TraceOutcome::Completed,
            tokens: 42,
        }
    }

    #[test]
    fn signed_traces_verify_and_tampering_is_refused() {
        let key = Keypair::generate_ed25519();
        let signed = trace().sign(&key).unwrap();
        let decoded = SignedTrace::decode(&signed.encode()).unwrap();
        assert_eq!(decoded, signed);

        let mut altered = signed.clone();
        altered.trace.tokens = 1;
        assert_eq!(altered.verify(), Err(TraceError::WrongId));

        let other = Keypair::generate_ed25519();
        let mut forged = signed.clone();
        forged.public_key = hex::encode(other.public().encode_protobuf());
        assert!(matches!(forged.verify(), Err(TraceError::BadSignature(_))));

        let mut bad_turn = trace();
        bad_turn.turns.push("[1,2]".into());
        assert!(bad_turn.sign(&key).is_err());
        assert!(SignedTrace::decode(b"{not json").is_err());
        assert!(SignedTrace::decode(&vec![b' '; MAX_TRACE_BYTES + 1]).is_err());
    }
}
