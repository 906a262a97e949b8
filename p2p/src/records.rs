//! Self-validating DHT records and content ids: the key is the BLAKE3 hash of the value.
//!
//! Nodes store a record only if its key is the hash of its value ([`is_valid_record`]); the
//! Kademlia behaviour runs with inserts filtered so every inbound `PUT_VALUE` passes through this
//! check before it reaches the store. A forged record therefore cannot overwrite a real one.

use libp2p::kad::RecordKey;

/// A 32-byte BLAKE3 content id.
pub type ContentId = [u8; 32];

/// The content id of `bytes`.
pub fn content_id(bytes: &[u8]) -> ContentId {
    *blake3::hash(bytes).as_bytes()
}

/// The DHT key under which `value` is stored.
pub fn record_key(value: &[u8]) -> RecordKey {
    RecordKey::new(&content_id(value))
}

/// True when `key` is the hash of `value`.
pub fn is_valid_record(key: &RecordKey, value: &[u8]) -> bool {
    key.as_ref() == content_id(value).as_slice()
}

/// Lower-case hex of bytes (ids in logs, the status endpoint and the CLI).
pub fn to_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Parses a 32-byte id from hex; `None` if it is not exactly 64 hex digits.
pub fn id_from_hex(text: &str) -> Option<ContentId> {
    hex::FromHex::from_hex(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_hash_of_value() {
        let key = record_key(b"value");
        assert!(is_valid_record(&key, b"value"));
        assert!(!is_valid_record(&key, b"other"));
        let id = content_id(b"x");
        assert_eq!(id_from_hex(&to_hex(&id)), Some(id));
        assert_eq!(id_from_hex("zz"), None);
        assert_eq!(id_from_hex(&"é".repeat(32)), None);
    }
}
