//! alloy `sol!` bindings generated from the committed artifacts (`contracts/artifacts/*.json`),
//! plus the artifacts themselves (ABI and creation bytecode) for deployment, revert decoding and
//! the ABI-coverage test.

#![allow(
    missing_docs,
    missing_debug_implementations,
    clippy::too_many_arguments
)]

use alloy::json_abi::JsonAbi;
use alloy::primitives::{Bytes, Selector};

// Each contract in its own module: library types (e.g. OpenZeppelin `Checkpoints`) repeat
// across ABIs.
pub mod atntoken_abi {
    alloy::sol!(ATNToken, "artifacts/ATNToken.json");
}
pub use atntoken_abi::ATNToken;
pub mod reptoken_abi {
    alloy::sol!(RepToken, "artifacts/RepToken.json");
}
pub use reptoken_abi::RepToken;
pub mod timelock_abi {
    alloy::sol!(Timelock, "artifacts/Timelock.json");
}
pub use timelock_abi::Timelock;
pub mod autonetgovernor_abi {
    alloy::sol!(AutonetGovernor, "artifacts/AutonetGovernor.json");
}
pub use autonetgovernor_abi::AutonetGovernor;
pub mod registry_abi {
    alloy::sol!(Registry, "artifacts/Registry.json");
}
pub use registry_abi::Registry;
pub mod participantstaking_abi {
    alloy::sol!(ParticipantStaking, "artifacts/ParticipantStaking.json");
}
pub use participantstaking_abi::ParticipantStaking;
pub mod project_abi {
    alloy::sol!(Project, "artifacts/Project.json");
}
pub use project_abi::Project;
pub mod taskcontract_abi {
    alloy::sol!(TaskContract, "artifacts/TaskContract.json");
}
pub use taskcontract_abi::TaskContract;
pub mod resultsrewards_abi {
    alloy::sol!(ResultsRewards, "artifacts/ResultsRewards.json");
}
pub use resultsrewards_abi::ResultsRewards;
pub mod rpb_abi {
    alloy::sol!(RPB, "artifacts/RPB.json");
}
pub use rpb_abi::RPB;
pub mod modelshardregistry_abi {
    alloy::sol!(ModelShardRegistry, "artifacts/ModelShardRegistry.json");
}
pub use modelshardregistry_abi::ModelShardRegistry;

/// One compiled contract of the suite.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Contract name, as in Solidity.
    pub name: &'static str,
    /// The parsed ABI.
    pub abi: JsonAbi,
    /// Creation bytecode (constructor arguments are appended at deployment).
    pub bytecode: Bytes,
    /// Runtime code size in bytes (must stay ≤ 24,576).
    pub runtime_size: usize,
}

/// Errors reading the embedded artifacts (only possible if a committed file is corrupt).
#[derive(Debug, thiserror::Error)]
#[error("artifact {name} is malformed: {reason}")]
pub struct ArtifactError {
    name: &'static str,
    reason: String,
}

macro_rules! artifact_sources {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../artifacts/", $name, ".json")))),*]
    };
}

/// Names and JSON text of every artifact, in deployment order.
pub const ARTIFACT_SOURCES: &[(&str, &str)] = artifact_sources!(
    "ATNToken",
    "RepToken",
    "Timelock",
    "AutonetGovernor",
    "Registry",
    "ParticipantStaking",
    "Project",
    "TaskContract",
    "ResultsRewards",
    "RPB",
    "ModelShardRegistry",
);

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawArtifact {
    abi: JsonAbi,
    bytecode: Bytes,
    runtime_size: usize,
}

/// Parses one artifact by name.
pub fn artifact(name: &'static str) -> Result<Artifact, ArtifactError> {
    let text = ARTIFACT_SOURCES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or(ArtifactError {
            name,
            reason: "unknown contract".into(),
        })?;
    let raw: RawArtifact = serde_json::from_str(text).map_err(|e| ArtifactError {
        name,
        reason: e.to_string(),
    })?;
    Ok(Artifact {
        name,
        abi: raw.abi,
        bytecode: raw.bytecode,
        runtime_size: raw.runtime_size,
    })
}

static ARTIFACTS: std::sync::LazyLock<Result<Vec<Artifact>, ArtifactError>> =
    std::sync::LazyLock::new(|| ARTIFACT_SOURCES.iter().map(|(n, _)| artifact(n)).collect());

/// Every artifact, parsed once.
pub fn all_artifacts() -> Result<&'static [Artifact], ArtifactError> {
    ARTIFACTS
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|e| ArtifactError {
            name: e.name,
            reason: e.reason.clone(),
        })
}

/// One parsed artifact by name, from the cache.
pub fn cached(name: &str) -> Result<&'static Artifact, ArtifactError> {
    all_artifacts()?
        .iter()
        .find(|a| a.name == name)
        .ok_or(ArtifactError {
            name: "?",
            reason: format!("unknown contract {name}"),
        })
}

/// The name of the custom error with this selector in any contract of the suite (or the
/// standard `Error(string)` / `Panic(uint256)`).
pub fn error_name(selector: Selector) -> Option<String> {
    match selector.0 {
        [0x08, 0xc3, 0x79, 0xa0] => return Some("Error".into()),
        [0x4e, 0x48, 0x7b, 0x71] => return Some("Panic".into()),
        _ => {}
    }
    all_artifacts()
        .ok()?
        .iter()
        .flat_map(|a| a.abi.errors())
        .find(|e| e.selector() == selector)
        .map(|e| e.name.clone())
}
