//! Versioned CBOR envelopes: the one wire shape of every gossip message.
//!
//! An envelope is a CBOR map `{ v: version, at: sender clock in µs since the Unix epoch, body:
//! bytes }`. Decoding checks the size limit *before* parsing, parses with `ciborium` (which reads
//! byte strings in bounded chunks, so a forged length cannot make it allocate), rejects trailing
//! bytes and unknown versions, and never panics: every failure is an [`EnvelopeError`], which the
//! event loop turns into a gossipsub `Reject` (a peer-score penalty for whoever relayed it).

use serde::{Deserialize, Serialize};

/// The envelope version this build writes and accepts.
pub const ENVELOPE_VERSION: u16 = 1;

/// Largest encoded envelope accepted on gossip (bulk data goes over request-response instead).
pub const MAX_ENVELOPE_BYTES: usize = 64 * 1024;

/// Largest body that still fits [`MAX_ENVELOPE_BYTES`] once wrapped.
pub const MAX_BODY_BYTES: usize = MAX_ENVELOPE_BYTES - 64;

/// A decoded gossip envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Wire version; only [`ENVELOPE_VERSION`] is accepted.
    #[serde(rename = "v")]
    pub version: u16,
    /// The sender's wall clock when it published, in microseconds since the Unix epoch. Used for
    /// latency measurements only; never trusted for protocol decisions.
    #[serde(rename = "at")]
    pub sent_at_micros: u64,
    /// The application payload (itself CBOR, defined by the topic's users).
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

/// Why bytes are not a valid envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Over [`MAX_ENVELOPE_BYTES`]; checked before any parsing.
    #[error("envelope of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Encoded size in bytes.
        len: usize,
        /// The limit it broke, in bytes.
        limit: usize,
    },
    /// Not a CBOR map of the envelope's shape (ciborium's message).
    #[error("envelope is not valid CBOR: {0}")]
    Malformed(String),
    /// Bytes follow the envelope's CBOR item (the count is given).
    #[error("envelope has {0} trailing bytes after the CBOR item")]
    TrailingBytes(usize),
    /// A version other than [`ENVELOPE_VERSION`].
    #[error("envelope version {found} is not supported (this node speaks {ENVELOPE_VERSION})")]
    UnsupportedVersion {
        /// The version the envelope carries.
        found: u16,
    },
    /// Serialising the envelope failed (ciborium's message).
    #[error("cannot encode envelope: {0}")]
    Encode(String),
}

impl Envelope {
    /// Wraps `body` in a current-version envelope stamped with the local clock.
    pub fn new(body: Vec<u8>) -> Self {
        Self {
            version: ENVELOPE_VERSION,
            sent_at_micros: now_micros(),
            body,
        }
    }

    /// Encodes the envelope, refusing one that would exceed [`MAX_ENVELOPE_BYTES`].
    pub fn encode(&self) -> Result<Vec<u8>, EnvelopeError> {
        let mut out = Vec::with_capacity(self.body.len() + 32);
        ciborium::into_writer(self, &mut out).map_err(|e| EnvelopeError::Encode(e.to_string()))?;
        if out.len() > MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::TooLarge {
                len: out.len(),
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        Ok(out)
    }

    /// Decodes and checks an envelope from untrusted bytes. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::TooLarge {
                len: bytes.len(),
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        let mut reader = bytes;
        let envelope: Envelope = ciborium::de::from_reader_with_recursion_limit(&mut reader, 16)
            .map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        if !reader.is_empty() {
            return Err(EnvelopeError::TrailingBytes(reader.len()));
        }
        if envelope.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion {
                found: envelope.version,
            });
        }
        Ok(envelope)
    }
}

/// Microseconds since the Unix epoch on this machine's clock (0 if the clock is before 1970).
pub fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let env = Envelope::new(b"hello".to_vec());
        let bytes = env.encode().unwrap();
        assert_eq!(Envelope::decode(&bytes).unwrap(), env);
    }

    #[test]
    fn rejects_junk_trailing_oversized_and_other_versions() {
        assert!(matches!(
            Envelope::decode(b"\xff\x00junk"),
            Err(EnvelopeError::Malformed(_))
        ));
        let mut bytes = Envelope::new(vec![1]).encode().unwrap();
        bytes.push(0);
        assert_eq!(
            Envelope::decode(&bytes),
            Err(EnvelopeError::TrailingBytes(1))
        );
        let big = vec![0u8; MAX_ENVELOPE_BYTES + 1];
        assert!(matches!(
            Envelope::decode(&big),
            Err(EnvelopeError::TooLarge { .. })
        ));
        assert!(matches!(
            Envelope::new(vec![0; MAX_ENVELOPE_BYTES]).encode(),
            Err(EnvelopeError::TooLarge { .. })
        ));
        let v2 = Envelope {
            version: 2,
            ..Envelope::new(vec![])
        };
        let mut out = Vec::new();
        ciborium::into_writer(&v2, &mut out).unwrap();
        assert_eq!(
            Envelope::decode(&out),
            Err(EnvelopeError::UnsupportedVersion { found: 2 })
        );
    }

    #[test]
    fn forged_huge_length_is_an_error_not_an_allocation() {
        // map(3) { "v": 1, "at": 0, "body": bytes(len = 2^63) } with no payload behind it.
        let mut bytes = vec![0xa3, 0x61, b'v', 0x01, 0x62, b'a', b't', 0x00];
        bytes.extend_from_slice(&[0x64, b'b', b'o', b'd', b'y', 0x1b, 0x7f]);
        bytes.extend_from_slice(&[0xff; 7]);
        assert!(Envelope::decode(&bytes).is_err());
    }
}
