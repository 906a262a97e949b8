//! Fuzzes the gossip envelope decoder (`autonet_wire::envelope::Envelope::decode`).
//!
//! The wire crate depends only on ciborium, serde, thiserror and blake3, so the fuzz build does
//! not have to build libp2p with sanitizers.
//! Properties: decoding never panics; whatever decodes re-encodes and decodes to the same value.
#![no_main]

use autonet_wire::envelope::Envelope;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = Envelope::decode(data) {
        let encoded = decoded.encode().expect("a decoded envelope re-encodes");
        let again = Envelope::decode(&encoded).expect("re-encoded envelope decodes");
        assert_eq!(again, decoded);
    }
});
