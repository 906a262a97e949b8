//! Bundle decode + replay: arbitrary bytes must be rejected with an error or replayed without a
//! panic, and a rejected replay must leave the world untouched.
#![no_main]

use autonet_models::substrate::{Bundle, World, replay::replay};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(bundle) = Bundle::decode(data) else { return };
    // Decoding accepted it: the bytes are canonical, so re-encoding must give them back.
    assert_eq!(bundle.encode(), data);
    let mut world = World::charter_v1();
    let before = world.hash();
    if replay(&mut world, &bundle.events).is_err() {
        assert_eq!(world.hash(), before, "a rejected replay changed the world");
    }
});
