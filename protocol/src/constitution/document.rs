//! The constitution document: TOML with a schema version, content-addressed by BLAKE3 over its
//! exact bytes, decoded within a size bound and checked before anything uses it.

use serde::{Deserialize, Serialize};

/// The document the node ships (and adopts while governance has published no other).
pub const DEFAULT_DOCUMENT: &str = include_str!("constitution.toml");
/// The schema this code reads.
pub const SCHEMA: u32 = 1;
/// The largest document accepted (the shipped one is about 4 KiB).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// The largest preamble template accepted (it goes in front of every prompt).
pub const MAX_PREAMBLE_BYTES: usize = 8 * 1024;

/// A constitution's content id: BLAKE3 of the document's bytes.
pub type ConstitutionId = [u8; 32];

/// Why a document is not adopted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstitutionError {
    /// Larger than [`MAX_DOCUMENT_BYTES`].
    #[error("constitution document is {0} bytes, more than the {MAX_DOCUMENT_BYTES} allowed")]
    TooLarge(usize),
    /// Not TOML of the constitution's shape.
    #[error("constitution document is malformed: {0}")]
    Malformed(String),
    /// A schema this code does not read.
    #[error("constitution schema {0} is not supported (this node reads schema {SCHEMA})")]
    Schema(u32),
    /// Parsed, but a value is unusable.
    #[error("constitution document is invalid: {0}")]
    Invalid(String),
    /// The bytes do not hash to the id they were published or announced under.
    #[error("constitution document hashes to {actual}, not to the expected id {expected}")]
    HashMismatch {
        /// The id the document was fetched or proposed for (hex).
        expected: String,
        /// BLAKE3 of the bytes received (hex).
        actual: String,
    },
}

/// One principle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principle {
    /// Short stable id (`P1`).
    pub id: String,
    /// The principle.
    pub text: String,
}

/// One charter tendency and where the geometric tier draws its line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tendency {
    /// The charter root's id (`life_precious`).
    pub id: String,
    /// Its thesis.
    pub thesis: String,
    /// Actions projecting below this on the tendency's axis are refused (in [-1, 1]).
    pub floor: f64,
}

/// Jurisdiction standards (alignment pricing's parameters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standards {
    /// The jurisdiction's standard, the text tasks are compared with.
    pub text: String,
    /// Alignment at or above which inference is subsidised.
    pub theta_high: f64,
    /// Alignment at or below which inference pays a premium.
    pub theta_low: f64,
    /// Largest subsidy rate.
    pub max_subsidy: f64,
    /// Largest premium rate.
    pub max_premium: f64,
    /// Network maturity (caps the subsidy capacity).
    pub maturity: f64,
    /// Treasury balance at which subsidies reach full capacity, in ATN.
    pub treasury_threshold_atn: u64,
}

/// The rule tier's limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most ATN one action may spend.
    pub max_spend_atn: u64,
    /// Deepest delegation chain (an agent's own task is depth 0).
    pub max_delegation_depth: u32,
}

/// The preamble template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreambleTemplate {
    /// Text with `{name}`, `{version}`, `{constitution_id}`, `{principles}`, `{tendencies}`,
    /// `{agent}` placeholders.
    pub template: String,
}

/// A decoded, checked constitution and the id of the bytes it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constitution {
    /// Document schema ([`SCHEMA`]).
    pub schema: u32,
    /// The constitution's own version (raised by each adopted amendment).
    pub version: u32,
    /// Its name.
    pub name: String,
    /// The principles.
    pub principles: Vec<Principle>,
    /// The charter tendencies, in charter order.
    pub tendencies: Vec<Tendency>,
    /// Jurisdiction standards.
    pub standards: Standards,
    /// Rule tier limits.
    pub limits: Limits,
    /// The agent prompt preamble.
    pub preamble: PreambleTemplate,
    /// BLAKE3 of the document bytes (not part of the document).
    #[serde(skip)]
    pub id: ConstitutionId,
}

/// BLAKE3 of `bytes`: the content id of a document.
pub fn content_id(bytes: &[u8]) -> ConstitutionId {
    *blake3::hash(bytes).as_bytes()
}

fn hex(id: &ConstitutionId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

impl Constitution {
    /// The shipped document.
    pub fn shipped() -> Result<Self, ConstitutionError> {
        Self::decode(DEFAULT_DOCUMENT.as_bytes())
    }

    /// Decodes and checks a document (size first, so an oversized one is never parsed).
    pub fn decode(bytes: &[u8]) -> Result<Self, ConstitutionError> {
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(ConstitutionError::TooLarge(bytes.len()));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|e| ConstitutionError::Malformed(format!("not UTF-8: {e}")))?;
        // The schema is read first so a future schema is named as such, not as a shape error.
        #[derive(Deserialize)]
        struct Head {
            schema: Option<u32>,
        }
        let head: Head =
            toml::from_str(text).map_err(|e| ConstitutionError::Malformed(e.to_string()))?;
        match head.schema {
            Some(SCHEMA) => {}
            Some(other) => return Err(ConstitutionError::Schema(other)),
            None => return Err(ConstitutionError::Malformed("no `schema` key".into())),
        }
        let mut c: Constitution =
            toml::from_str(text).map_err(|e| ConstitutionError::Malformed(e.to_string()))?;
        c.id = content_id(bytes);
        c.validate()?;
        Ok(c)
    }

    /// Decodes `bytes` only if they hash to `expected` (a document fetched from a peer or named
    /// by a proposal): a mismatch adopts nothing.
    pub fn decode_verified(
        bytes: &[u8],
        expected: &ConstitutionId,
    ) -> Result<Self, ConstitutionError> {
        let actual = content_id(bytes);
        if &actual != expected {
            return Err(ConstitutionError::HashMismatch {
                expected: hex(expected),
                actual: hex(&actual),
            });
        }
        Self::decode(bytes)
    }

    /// The content id in hex.
    pub fn id_hex(&self) -> String {
        hex(&self.id)
    }

    fn validate(&self) -> Result<(), ConstitutionError> {
        let bad = |m: String| Err(ConstitutionError::Invalid(m));
        if self.principles.is_empty() {
            return bad("at least one principle is needed".into());
        }
        if self.tendencies.is_empty() {
            return bad("at least one tendency is needed".into());
        }
        let mut ids: Vec<&str> = self.principles.iter().map(|p| p.id.as_str()).collect();
        ids.extend(self.tendencies.iter().map(|t| t.id.as_str()));
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != ids.len() {
            return bad("principle and tendency ids must be unique".into());
        }
        if ids.iter().any(|i| i.trim().is_empty()) {
            return bad("an id is empty".into());
        }
        for t in &self.tendencies {
            if !(-1.0..=1.0).contains(&t.floor) {
                return bad(format!(
                    "tendency {} floor {} is not in [-1, 1]",
                    t.id, t.floor
                ));
            }
        }
        let s = &self.standards;
        for (name, v) in [
            ("theta_high", s.theta_high),
            ("theta_low", s.theta_low),
            ("max_subsidy", s.max_subsidy),
            ("max_premium", s.max_premium),
            ("maturity", s.maturity),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(format!("standards.{name} = {v} is not in [0, 1]"));
            }
        }
        if s.theta_low >= s.theta_high {
            return bad("standards.theta_low must be below standards.theta_high".into());
        }
        let template = &self.preamble.template;
        if template.len() > MAX_PREAMBLE_BYTES {
            return bad(format!(
                "preamble.template is {} bytes, more than {MAX_PREAMBLE_BYTES}",
                template.len()
            ));
        }
        if !template.contains("{principles}") || !template.contains("{constitution_id}") {
            return bad("preamble.template must contain {principles} and {constitution_id}".into());
        }
        Ok(())
    }
}
