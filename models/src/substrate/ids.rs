//! Content ids: BLAKE3 over canonical CBOR.
//!
//! Canonical here means: every encoded value is a serde struct or tuple with a fixed field order
//! (ciborium writes struct fields in declaration order), every map is a `BTreeMap` or a sorted
//! vector, and every float is written as the `u64` of its IEEE-754 bits, so `0.0` and `-0.0`, or
//! two NaN payloads, can never collide or be re-rounded by an encoder choosing a shorter width.
//! Decoders re-encode what they read and refuse bytes that do not round-trip (`decode_canonical`).

use std::fmt;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::error::{Result, SubstrateError};

/// A 32-byte BLAKE3 digest, the id of anything content-addressed in the substrate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Lower-case hex of all 32 bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Result<Self> {
        hex::FromHex::from_hex(s)
            .map(Digest)
            .map_err(|_| SubstrateError::Decode {
                what: "digest",
                reason: format!("not 64 hex chars: {s:?}"),
            })
    }

    /// Short form for labels and logs: the first 8 bytes in hex.
    pub fn short(&self) -> String {
        self.to_hex()[..16].to_string()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.short())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Canonical CBOR bytes of a value (see the module docs for what makes them canonical).
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail for our plain data types; an error here would be a bug in a
    // Serialize impl, and the empty/partial buffer would then hash differently, never silently equal.
    if let Err(e) = ciborium::into_writer(value, &mut out) {
        out.clear();
        out.extend_from_slice(format!("unencodable: {e}").as_bytes());
    }
    out
}

/// BLAKE3 of the canonical CBOR encoding of `value`, under a domain-separation tag.
pub fn content_id<T: Serialize>(domain: &str, value: &T) -> Digest {
    let mut h = blake3::Hasher::new();
    h.update(domain.as_bytes());
    h.update(&[0]);
    h.update(&encode(value));
    Digest(*h.finalize().as_bytes())
}

/// Decodes CBOR with a size limit and refuses anything that is not the canonical encoding of the
/// decoded value.
pub fn decode_canonical<T: Serialize + DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
    limit: usize,
) -> Result<T> {
    if bytes.len() > limit {
        return Err(SubstrateError::Oversized {
            what,
            got: bytes.len(),
            limit,
        });
    }
    let value: T = ciborium::from_reader(bytes).map_err(|e| SubstrateError::Decode {
        what,
        reason: e.to_string(),
    })?;
    if encode(&value) != bytes {
        return Err(SubstrateError::NonCanonical { what });
    }
    Ok(value)
}

/// Serde helpers that write `f64`s as their exact bit patterns.
pub mod f64_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `v` as the `u64` of its bit pattern.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(v.to_bits())
    }

    /// Reads a `u64` bit pattern back as the exact `f64`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(f64::from_bits(u64::deserialize(d)?))
    }
}

/// Like [`f64_bits`], for vectors of coordinates.
pub mod f64_vec_bits {
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    /// Writes `v` as a sequence of `u64` bit patterns.
    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&x.to_bits())?;
        }
        seq.end()
    }

    /// Reads a sequence of `u64` bit patterns back as the exact `f64`s.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<u64>::deserialize(d)?
            .into_iter()
            .map(f64::from_bits)
            .collect())
    }
}

/// The content address of a sub-claim: its anchor and polarity axis only (never its parent or
/// position), so independent solvers that propose the same coordinate claim get the same id.
pub fn node_address(anchor: &[f64], axis: &[f64]) -> Digest {
    #[derive(Serialize)]
    struct NodeAddress<'a> {
        #[serde(with = "f64_vec_bits")]
        anchor: &'a [f64],
        #[serde(with = "f64_vec_bits")]
        axis: &'a [f64],
    }
    content_id("autonet/substrate/node/v1", &NodeAddress { anchor, axis })
}
