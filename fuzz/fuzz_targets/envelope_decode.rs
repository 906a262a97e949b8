//! Fuzzes the gossip envelope decoder (`autonet_p2p::envelope::Envelope::decode`).
//!
//! The module is compiled in directly from `p2p/src/envelope.rs` (it depends only on ciborium,
//! serde and thiserror), so the fuzz build does not have to build libp2p with sanitizers.
//! Properties: decoding never panics; whatever decodes re-encodes and decodes to the same value.
#![no_main]

#[path = "../../p2p/src/envelope.rs"]
#[allow(dead_code)]
mod envelope;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = envelope::Envelope::decode(data) {
        let encoded = decoded.encode().expect("a decoded envelope re-encodes");
        let again = envelope::Envelope::decode(&encoded).expect("re-encoded envelope decodes");
        assert_eq!(again, decoded);
    }
});
