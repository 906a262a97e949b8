//! The slow path's wire format: what a node sends an inference peer to get an updated latent
//! plan, and what comes back. Versioned CBOR with size limits; decoding checks every field
//! (version, model layout, sizes, ranges, finiteness) and never panics, so bad input from the
//! network is a clear error the caller can penalise.
//!
//! The query travels as the raw 8×8 image (grey levels 0..16) and the prompt, so the peer
//! encodes it with its own, current model; the answer names that model by the content id of its
//! encoder parameters.

use serde::{Deserialize, Serialize};

use super::data::Digit;
use super::error::JepaError;
use super::manifest::Config;
use super::params::{Layout, ParamSet};
use super::verify::layout_fingerprint;

/// Service name of plan requests on the overlay's RPC protocol.
pub const PLAN_SERVICE: &str = "jepa-plan";
/// Wire version of [`PlanRequest`] and [`PlanResponse`].
pub const PLAN_WIRE_VERSION: u16 = 1;
/// Largest encoded request or response accepted.
pub const MAX_PLAN_MESSAGE_BYTES: usize = 512 * 1024;
/// Longest prompt in bytes.
pub const MAX_PROMPT_BYTES: usize = 1024;

/// A request for the plan of one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRequest {
    /// [`PLAN_WIRE_VERSION`].
    pub version: u16,
    /// [`layout_fingerprint`] of the asker's encoder: which model shape the plan must fit.
    pub layout: Vec<u8>,
    /// The 8×8 image, grey levels 0..16, row-major.
    pub pixels: Vec<u8>,
    /// The prompt given to the text encoder with the image.
    pub prompt: String,
}

/// An inference peer's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanResponse {
    /// [`PLAN_WIRE_VERSION`].
    pub version: u16,
    /// Content id of the encoder parameters that made the plan ([`params_id`]).
    pub model: Vec<u8>,
    /// The plan, K·D values.
    pub plan: Vec<f32>,
}

fn bad(what: &str, why: impl std::fmt::Display) -> JepaError {
    JepaError::Data(format!("bad {what}: {why}"))
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail for these plain structs.
    let _ = ciborium::into_writer(value, &mut out);
    out
}

fn decode<T: for<'de> Deserialize<'de>>(what: &str, bytes: &[u8]) -> Result<T, JepaError> {
    if bytes.len() > MAX_PLAN_MESSAGE_BYTES {
        return Err(bad(
            what,
            format!(
                "{} bytes exceed the {MAX_PLAN_MESSAGE_BYTES}-byte limit",
                bytes.len()
            ),
        ));
    }
    ciborium::from_reader(bytes).map_err(|e| bad(what, format!("not valid CBOR: {e}")))
}

fn check_version(what: &str, version: u16) -> Result<(), JepaError> {
    if version == PLAN_WIRE_VERSION {
        Ok(())
    } else {
        Err(bad(
            what,
            format!("version {version}, this node speaks {PLAN_WIRE_VERSION}"),
        ))
    }
}

impl PlanRequest {
    /// The request for `digit` with `prompt`, for an encoder of `layout`.
    pub fn new(digit: &Digit, prompt: &str, layout: &Layout) -> Self {
        PlanRequest {
            version: PLAN_WIRE_VERSION,
            layout: layout_fingerprint(layout).to_vec(),
            pixels: digit.pixels.to_vec(),
            prompt: prompt.to_string(),
        }
    }

    /// CBOR bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes and checks a request for an encoder of `layout`.
    pub fn decode(bytes: &[u8], layout: &Layout) -> Result<Self, JepaError> {
        const WHAT: &str = "plan request";
        let r: PlanRequest = decode(WHAT, bytes)?;
        check_version(WHAT, r.version)?;
        if r.layout != layout_fingerprint(layout) {
            return Err(bad(WHAT, "made for a different model layout"));
        }
        if r.pixels.len() != 64 || r.pixels.iter().any(|&p| p > 16) {
            return Err(bad(WHAT, "the image must be 64 grey levels in 0..=16"));
        }
        if r.prompt.len() > MAX_PROMPT_BYTES {
            return Err(bad(
                WHAT,
                format!("prompt longer than {MAX_PROMPT_BYTES} bytes"),
            ));
        }
        Ok(r)
    }

    /// The image as a [`Digit`] (label unknown: 0).
    pub fn digit(&self) -> Digit {
        let mut pixels = [0u8; 64];
        pixels
            .iter_mut()
            .zip(&self.pixels)
            .for_each(|(p, &q)| *p = q);
        Digit { label: 0, pixels }
    }
}

impl PlanResponse {
    /// A current-version response.
    pub fn new(model: [u8; 32], plan: Vec<f32>) -> Self {
        PlanResponse {
            version: PLAN_WIRE_VERSION,
            model: model.to_vec(),
            plan,
        }
    }

    /// CBOR bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes and checks a response for a model of `config`'s plan size.
    pub fn decode(bytes: &[u8], config: &Config) -> Result<Self, JepaError> {
        const WHAT: &str = "plan response";
        let r: PlanResponse = decode(WHAT, bytes)?;
        check_version(WHAT, r.version)?;
        let want = config.latents * config.dim;
        if r.plan.len() != want {
            return Err(bad(
                WHAT,
                format!("plan of {} values, expected {want}", r.plan.len()),
            ));
        }
        if r.plan.iter().any(|v| !v.is_finite()) {
            return Err(bad(WHAT, "non-finite plan value"));
        }
        if r.model.len() != 32 {
            return Err(bad(WHAT, "model id is not 32 bytes"));
        }
        Ok(r)
    }
}

/// Content id of a parameter set: BLAKE3 over its layout fingerprint and f32 LE values.
pub fn params_id(params: &ParamSet) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(&layout_fingerprint(&params.layout));
    for v in &params.data {
        h.update(&v.to_le_bytes());
    }
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jepa::manifest::{Init, ParamSpec};

    fn layout() -> Layout {
        Layout::new(vec![ParamSpec {
            name: "w".into(),
            shape: vec![3],
            init: Init::Zeros,
            in_infer: true,
        }])
    }

    fn digit() -> Digit {
        let mut pixels = [0u8; 64];
        pixels[10] = 16;
        Digit { label: 3, pixels }
    }

    #[test]
    fn request_round_trips_and_bad_requests_say_why() {
        let l = layout();
        let r = PlanRequest::new(&digit(), "digit", &l);
        let back = PlanRequest::decode(&r.encode(), &l).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.digit().pixels, digit().pixels);

        let err = |r: &PlanRequest| {
            PlanRequest::decode(&r.encode(), &l)
                .unwrap_err()
                .to_string()
        };
        assert!(
            err(&PlanRequest {
                version: 9,
                ..r.clone()
            })
            .contains("version 9")
        );
        assert!(
            err(&PlanRequest {
                pixels: vec![0; 63],
                ..r.clone()
            })
            .contains("64 grey levels")
        );
        assert!(
            err(&PlanRequest {
                pixels: vec![17; 64],
                ..r.clone()
            })
            .contains("64 grey levels")
        );
        assert!(
            err(&PlanRequest {
                layout: vec![0; 32],
                ..r.clone()
            })
            .contains("different model")
        );
        let long = "x".repeat(MAX_PROMPT_BYTES + 1);
        assert!(
            err(&PlanRequest {
                prompt: long,
                ..r.clone()
            })
            .contains("prompt longer")
        );
        let garbage = PlanRequest::decode(b"\xff\x00garbage", &l).unwrap_err();
        assert!(garbage.to_string().contains("not valid CBOR"), "{garbage}");
        let huge = vec![0u8; MAX_PLAN_MESSAGE_BYTES + 1];
        assert!(
            PlanRequest::decode(&huge, &l)
                .unwrap_err()
                .to_string()
                .contains("limit")
        );
    }

    #[test]
    fn response_is_checked_against_the_plan_size() {
        let config = Config {
            image: 8,
            patch: 2,
            channels: 1,
            dim: 2,
            latents: 2,
            text_len: 4,
            vocab: 260,
            batch: 1,
        };
        let ok = PlanResponse::new([7; 32], vec![0.5; 4]);
        assert_eq!(PlanResponse::decode(&ok.encode(), &config).unwrap(), ok);
        let short = PlanResponse::new([7; 32], vec![0.5; 3]);
        assert!(PlanResponse::decode(&short.encode(), &config).is_err());
        let nan = PlanResponse::new([7; 32], vec![0.5, f32::NAN, 0.0, 0.0]);
        assert!(
            PlanResponse::decode(&nan.encode(), &config)
                .unwrap_err()
                .to_string()
                .contains("non-finite")
        );
    }
}
