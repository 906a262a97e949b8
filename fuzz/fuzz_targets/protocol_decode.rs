//! Fuzzes every protocol message decoder of `autonet_wire::protocol`: the first byte picks the
//! message type, the rest is the input.
//! Properties: decoding never panics; whatever decodes re-encodes and decodes to the same value.
#![no_main]

use autonet_wire::protocol::{
    HeldOut, MAX_ANNOUNCEMENT_BYTES, MAX_SPEC_BYTES, ModelAnnouncement, TaskAnnouncement,
    TaskSpec, Versioned, decode, encode,
};
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T>(what: &'static str, data: &[u8], limit: usize)
where
    T: DeserializeOwned + Serialize + Versioned + PartialEq + std::fmt::Debug,
{
    if let Ok(decoded) = decode::<T>(what, data, limit) {
        let again = decode::<T>(what, &encode(&decoded), limit).expect("re-encoded message decodes");
        assert_eq!(again, decoded);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 5 {
        0 => {
            if let Ok(spec) = TaskSpec::decode(body) {
                assert_eq!(TaskSpec::decode(&encode(&spec)).expect("re-encoded spec decodes"), spec);
            }
        }
        1 => round_trip::<TaskSpec>("task spec", body, MAX_SPEC_BYTES),
        2 => round_trip::<HeldOut>("held-out set", body, MAX_SPEC_BYTES),
        3 => round_trip::<TaskAnnouncement>("task announcement", body, MAX_ANNOUNCEMENT_BYTES),
        _ => round_trip::<ModelAnnouncement>("model announcement", body, MAX_ANNOUNCEMENT_BYTES),
    }
});
