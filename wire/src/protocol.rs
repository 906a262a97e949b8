//! What protocol peers exchange besides chain transactions: the task spec (its content id is the
//! task's `specHash` on chain), the proposer's hidden held-out set (its content id is the
//! ground-truth id it commits to), and the gossip announcements of tasks and models.
//!
//! All are CBOR with a version field; decoding is size-limited, never panics and refuses trailing
//! bytes. Content ids are BLAKE3 over the exact bytes, the same ids the overlay's request-response
//! transfer and provider records use, so anything named on chain can be fetched and checked.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Why bytes are not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode {what}: {reason}")]
pub struct DecodeError {
    /// What was being decoded (`task spec`, `model announcement`, …).
    pub what: &'static str,
    /// What was wrong with it.
    pub reason: String,
}

/// Version of every message in this module.
pub const WIRE_VERSION: u16 = 1;
/// Largest task spec or held-out set accepted.
pub const MAX_SPEC_BYTES: usize = 4 * 1024 * 1024;
/// Largest gossip announcement accepted.
pub const MAX_ANNOUNCEMENT_BYTES: usize = 60 * 1024;

/// Which model a task trains (the extension point for other model kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelKindId {
    /// The world-model substrate (`autonet_models::substrate`).
    Substrate,
    /// VL-JEPA on ONNX Runtime (`autonet_models::jepa`), tiny graph set.
    Jepa,
}

impl ModelKindId {
    /// Lower-case name (shard manifests, reports).
    pub fn name(self) -> &'static str {
        match self {
            ModelKindId::Substrate => "substrate",
            ModelKindId::Jepa => "jepa",
        }
    }
}

/// A task: what to train, from which model, and how slices are assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Message version; [`decode`] accepts only [`WIRE_VERSION`].
    pub version: u16,
    /// Which model kind the task trains; every solver must run the same kind.
    pub model: ModelKindId,
    /// Network epoch the task belongs to (its solutions are merged into that epoch's model).
    pub epoch: u64,
    /// Content id of the model every solver starts from.
    pub base_model: [u8; 32],
    /// Seed of slice assignment.
    pub seed: [u8; 32],
    /// Turns per solver slice.
    pub slice_len: u32,
    /// Passes over a slice.
    pub train_epochs: u32,
    /// The batch: one JSON object per entry, as the exact JSON text the proposer read.
    pub batch: Vec<String>,
}

/// The proposer's hidden ground truth: held-out turns used to judge candidates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldOut {
    /// Message version; [`decode`] accepts only [`WIRE_VERSION`].
    pub version: u16,
    /// Binds the set to its task's spec so it cannot be replayed for another task.
    pub spec_id: [u8; 32],
    /// The held-out turns, each the exact JSON text of one entry (as [`TaskSpec::batch`]);
    /// they never appear in the batch solvers train on.
    pub turns: Vec<String>,
}

/// Gossip on `tasks`: a new task and its spec bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskAnnouncement {
    /// Message version; [`decode`] accepts only [`WIRE_VERSION`].
    pub version: u16,
    /// On-chain task id (big-endian U256).
    pub task_id: [u8; 32],
    /// The encoded [`TaskSpec`]; its [`content_id`] must equal the task's on-chain `specHash`.
    #[serde(with = "serde_bytes")]
    pub spec: Vec<u8>,
}

/// Gossip on `models`: an epoch's merged model and its mint root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelAnnouncement {
    /// Message version; [`decode`] accepts only [`WIRE_VERSION`].
    pub version: u16,
    /// Network epoch whose accepted solutions this model merges.
    pub epoch: u64,
    /// Content id of the new model (fetch it from the announcer).
    pub model_id: [u8; 32],
    /// Content id of the encoded mint list (fetchable too).
    pub mint_list_id: [u8; 32],
    /// Merkle root of that mint list as posted on chain; claimants prove their mint against the
    /// root the chain finalises, so peers compare this with the chain before trusting the list.
    pub mint_root: [u8; 32],
}

/// CBOR bytes of a message.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Plain data with derived Serialize: writing into a Vec does not fail.
    if ciborium::into_writer(value, &mut out).is_err() {
        out.clear();
    }
    out
}

/// Decodes a message of at most `limit` bytes; checks the version and refuses trailing bytes.
pub fn decode<T: DeserializeOwned + Versioned>(
    what: &'static str,
    bytes: &[u8],
    limit: usize,
) -> Result<T, DecodeError> {
    if bytes.len() > limit {
        return Err(DecodeError {
            what,
            reason: format!("{} bytes exceed the limit of {limit}", bytes.len()),
        });
    }
    let mut reader = bytes;
    let value: T = ciborium::from_reader(&mut reader).map_err(|e| DecodeError {
        what,
        reason: e.to_string(),
    })?;
    if !reader.is_empty() {
        return Err(DecodeError {
            what,
            reason: format!("{} trailing bytes", reader.len()),
        });
    }
    if value.version() != WIRE_VERSION {
        return Err(DecodeError {
            what,
            reason: format!("version {} (expected {WIRE_VERSION})", value.version()),
        });
    }
    Ok(value)
}

/// Messages with a version field.
pub trait Versioned {
    /// The message's version field, checked against [`WIRE_VERSION`] by [`decode`].
    fn version(&self) -> u16;
}

macro_rules! versioned {
    ($($t:ty),*) => {$(
        impl Versioned for $t {
            fn version(&self) -> u16 {
                self.version
            }
        }
    )*};
}
versioned!(TaskSpec, HeldOut, TaskAnnouncement, ModelAnnouncement);

/// BLAKE3 content id of bytes (the overlay's id for fetchable content).
pub fn content_id(bytes: &[u8]) -> [u8; 32] {
    *blake3::hash(bytes).as_bytes()
}

impl TaskSpec {
    /// Decodes a spec and checks its limits.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let spec: TaskSpec = decode("task spec", bytes, MAX_SPEC_BYTES)?;
        if spec.batch.is_empty() || spec.slice_len == 0 || spec.train_epochs == 0 {
            return Err(DecodeError {
                what: "task spec",
                reason: "empty batch, slice or epoch count".into(),
            });
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TaskSpec {
        TaskSpec {
            version: WIRE_VERSION,
            model: ModelKindId::Substrate,
            epoch: 2,
            base_model: [1; 32],
            seed: [2; 32],
            slice_len: 4,
            train_epochs: 1,
            batch: vec!["{\"content\":\"x\"}".into()],
        }
    }

    #[test]
    fn round_trips_and_rejects_bad_bytes() {
        let bytes = encode(&spec());
        assert_eq!(TaskSpec::decode(&bytes).unwrap(), spec());
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(TaskSpec::decode(&trailing).is_err());
        assert!(TaskSpec::decode(&bytes[..bytes.len() / 2]).is_err());
        assert!(TaskSpec::decode(b"garbage").is_err());
        let mut v2 = spec();
        v2.version = 2;
        assert!(TaskSpec::decode(&encode(&v2)).is_err());
        let mut empty = spec();
        empty.batch.clear();
        assert!(TaskSpec::decode(&encode(&empty)).is_err());
        let big = vec![0u8; MAX_ANNOUNCEMENT_BYTES + 1];
        assert!(decode::<TaskAnnouncement>("announcement", &big, MAX_ANNOUNCEMENT_BYTES).is_err());
    }
}
