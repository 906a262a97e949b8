//! The JEPA network model as bytes (its content id is the model id the protocol publishes), and
//! the task items of a JEPA task: decimal indices into the committed digits (training part for
//! batches and slices, held-out part for the hidden ground truth).
//!
//! Layout: magic `ATNJGM01`, the layout fingerprint (which graph set the values belong to), the
//! scalar count (u64 LE), the online parameters, then the EMA target (f32 LE each). Decoding
//! refuses a foreign layout, a wrong length and non-finite values.

use std::sync::Arc;

use autonet_models::jepa::federated::GlobalModel;
use autonet_models::jepa::params::{Layout, ParamSet};
use autonet_models::jepa::verify::layout_fingerprint;

use crate::ProtocolError;

const MAGIC: &[u8; 8] = b"ATNJGM01";
const HEADER: usize = 8 + 32 + 8;

fn bad(why: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::Decode(crate::wire::DecodeError {
        what: "JEPA model",
        reason: why.to_string(),
    })
}

/// The bytes of a network model.
pub fn encode_model(model: &GlobalModel) -> Vec<u8> {
    let n = model.params.data.len();
    let mut out = Vec::with_capacity(HEADER + 8 * n);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&layout_fingerprint(&model.params.layout));
    out.extend_from_slice(&(n as u64).to_le_bytes());
    for v in model.params.data.iter().chain(&model.target.data) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Decodes a network model made for `layout`.
pub fn decode_model(bytes: &[u8], layout: &Arc<Layout>) -> Result<GlobalModel, ProtocolError> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err(bad("not a JEPA model encoding"));
    }
    if bytes[8..40] != layout_fingerprint(layout) {
        return Err(bad("made for a different graph layout"));
    }
    let mut count = [0u8; 8];
    count.copy_from_slice(&bytes[40..48]);
    if u64::from_le_bytes(count) != layout.len as u64 || bytes.len() != HEADER + 8 * layout.len {
        return Err(bad("length does not match the layout"));
    }
    let values: Vec<f32> = bytes[HEADER..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if values.iter().any(|v| !v.is_finite()) {
        return Err(bad("non-finite value"));
    }
    let (params, target) = values.split_at(layout.len);
    let set = |data: &[f32]| ParamSet {
        layout: layout.clone(),
        data: data.to_vec(),
    };
    Ok(GlobalModel {
        params: set(params),
        target: set(target),
    })
}

/// Task items naming images `0..n`.
pub fn items(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

/// The image indices named by task items, each below `n`.
pub fn parse_items(items: &[String], n: usize) -> Result<Vec<usize>, ProtocolError> {
    items
        .iter()
        .map(|s| match s.parse::<usize>() {
            Ok(i) if i < n => Ok(i),
            _ => Err(ProtocolError::Model(format!(
                "task item {s:?} is not an image index below {n}"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use autonet_models::jepa::manifest::{Init, ParamSpec};

    fn layout(name: &str) -> Arc<Layout> {
        Arc::new(Layout::new(vec![ParamSpec {
            name: name.into(),
            shape: vec![3],
            init: Init::Zeros,
            in_infer: true,
        }]))
    }

    #[test]
    fn models_round_trip_and_bad_bytes_are_refused() {
        let l = layout("a");
        let m = GlobalModel {
            params: ParamSet {
                layout: l.clone(),
                data: vec![1.0, -2.5, 3.0],
            },
            target: ParamSet {
                layout: l.clone(),
                data: vec![0.5, 0.0, -1.0],
            },
        };
        let bytes = encode_model(&m);
        let back = decode_model(&bytes, &l).unwrap();
        assert_eq!(
            (back.params.data, back.target.data),
            (m.params.data, m.target.data)
        );
        assert!(decode_model(&bytes[..bytes.len() - 4], &l).is_err());
        assert!(decode_model(b"garbage", &l).is_err());
        assert!(decode_model(&bytes, &layout("b")).is_err());
        let mut nan = bytes.clone();
        nan[HEADER..HEADER + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(decode_model(&nan, &l).is_err());
    }

    #[test]
    fn items_parse_within_bounds() {
        assert_eq!(parse_items(&items(3), 3).unwrap(), vec![0, 1, 2]);
        assert!(parse_items(&["3".to_string()], 3).is_err());
        assert!(parse_items(&["x".to_string()], 3).is_err());
        assert!(parse_items(&["-1".to_string()], 3).is_err());
    }
}
