//! Pipeline checkpoints: everything training needs to resume (encoder parameters, AdamW
//! moments and step, EMA target, decoder parameters and moments, plan statistics, progress)
//! as one byte string with a content id. Encoding and decoding are pure; the node writes the
//! bytes atomically into its data dir.
//!
//! Layout: magic `ATNJCK01`, header length (u32 LE), a CBOR header (version, layout
//! fingerprints, progress, section names and lengths), the sections' f32 values (LE), then the
//! BLAKE3 of everything before it. The trailer is the checkpoint's content id; a truncated,
//! corrupted or foreign file fails to decode with the reason.

use serde::{Deserialize, Serialize};

use super::error::JepaError;
use super::pipeline::{Pipeline, Progress};
use super::verify::layout_fingerprint;

const MAGIC: &[u8; 8] = b"ATNJCK01";
/// Header version.
pub const CHECKPOINT_VERSION: u16 = 1;
/// Largest header accepted.
const MAX_HEADER_BYTES: usize = 64 * 1024;

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    version: u16,
    vl_layout: Vec<u8>,
    dec_layout: Vec<u8>,
    seed: u64,
    vl_steps: u64,
    dec_steps: u64,
    vl_adam_step: u64,
    dec_adam_step: u64,
    /// Section names and their lengths in f32 values, in payload order.
    sections: Vec<(String, u64)>,
}

fn bad(why: impl std::fmt::Display) -> JepaError {
    JepaError::Data(format!("checkpoint: {why}"))
}

/// The content id of checkpoint bytes (their BLAKE3 trailer), without checking them.
pub fn checkpoint_id(bytes: &[u8]) -> Option<[u8; 32]> {
    let tail = bytes.len().checked_sub(32)?;
    let mut id = [0u8; 32];
    id.copy_from_slice(&bytes[tail..]);
    Some(id)
}

/// Serialises a pipeline's training state.
pub fn encode(p: &Pipeline) -> Vec<u8> {
    let (mean, std) = p.plan_stats.clone().unwrap_or_default();
    let sections: [(&str, &[f32]); 9] = [
        ("vl.params", &p.vl.state.params.data),
        ("vl.m", &p.vl.state.m.data),
        ("vl.v", &p.vl.state.v.data),
        ("vl.target", &p.vl.target.data),
        ("dec.params", &p.decoder.state.params.data),
        ("dec.m", &p.decoder.state.m.data),
        ("dec.v", &p.decoder.state.v.data),
        ("stats.mean", &mean),
        ("stats.std", &std),
    ];
    let header = Header {
        version: CHECKPOINT_VERSION,
        vl_layout: layout_fingerprint(&p.vl.model.layout).to_vec(),
        dec_layout: layout_fingerprint(&p.decoder.model.layout).to_vec(),
        seed: p.progress.seed,
        vl_steps: p.progress.vl_steps,
        dec_steps: p.progress.dec_steps,
        vl_adam_step: p.vl.state.step,
        dec_adam_step: p.decoder.state.step,
        sections: sections
            .iter()
            .map(|(n, v)| ((*n).to_string(), v.len() as u64))
            .collect(),
    };
    let mut head = Vec::new();
    // Writing into a Vec cannot fail for this plain struct.
    let _ = ciborium::into_writer(&header, &mut head);
    let floats: usize = sections.iter().map(|(_, v)| v.len()).sum();
    let mut out = Vec::with_capacity(12 + head.len() + 4 * floats + 32);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(head.len() as u32).to_le_bytes());
    out.extend_from_slice(&head);
    for (_, values) in sections {
        for v in values {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let id = blake3::hash(&out);
    out.extend_from_slice(id.as_bytes());
    out
}

/// Restores a checkpoint into a pipeline built from the same graph set; returns its content
/// id. On error the pipeline is left unchanged.
pub fn restore(p: &mut Pipeline, bytes: &[u8]) -> Result<[u8; 32], JepaError> {
    if bytes.len() < 12 + 32 || &bytes[..8] != MAGIC {
        return Err(bad("not a JEPA checkpoint"));
    }
    let (body, trailer) = bytes.split_at(bytes.len() - 32);
    if blake3::hash(body).as_bytes() != trailer {
        return Err(bad("content hash mismatch (truncated or corrupted)"));
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(&body[8..12]);
    let head_len = u32::from_le_bytes(len) as usize;
    if head_len > MAX_HEADER_BYTES || 12 + head_len > body.len() {
        return Err(bad("header length out of range"));
    }
    let header: Header = ciborium::from_reader(&body[12..12 + head_len])
        .map_err(|e| bad(format!("header is not valid CBOR: {e}")))?;
    if header.version != CHECKPOINT_VERSION {
        return Err(bad(format!(
            "version {}, this node reads {CHECKPOINT_VERSION}",
            header.version
        )));
    }
    if header.vl_layout != layout_fingerprint(&p.vl.model.layout)
        || header.dec_layout != layout_fingerprint(&p.decoder.model.layout)
    {
        return Err(bad("made for another graph set"));
    }
    let mut payload = &body[12 + head_len..];
    let mut sections = std::collections::BTreeMap::new();
    for (name, count) in &header.sections {
        let n = usize::try_from(*count)
            .ok()
            .and_then(|c| c.checked_mul(4))
            .filter(|&n| n <= payload.len())
            .ok_or_else(|| bad(format!("section {name} runs past the end")))?;
        let (chunk, rest) = payload.split_at(n);
        payload = rest;
        let values: Vec<f32> = chunk
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        sections.insert(name.as_str(), values);
    }
    if !payload.is_empty() {
        return Err(bad("bytes after the last section"));
    }
    let mut take = |name: &str, want: usize| -> Result<Vec<f32>, JepaError> {
        let values = sections
            .remove(name)
            .ok_or_else(|| bad(format!("no section {name}")))?;
        if want != usize::MAX && values.len() != want {
            return Err(bad(format!(
                "section {name} holds {} values, expected {want}",
                values.len()
            )));
        }
        Ok(values)
    };
    let (vl_len, dec_len) = (p.vl.model.layout.len, p.decoder.model.layout.len);
    let width = p.vl.config.latents * p.vl.config.dim;
    let vl = [
        take("vl.params", vl_len)?,
        take("vl.m", vl_len)?,
        take("vl.v", vl_len)?,
        take("vl.target", vl_len)?,
    ];
    let dec = [
        take("dec.params", dec_len)?,
        take("dec.m", dec_len)?,
        take("dec.v", dec_len)?,
    ];
    let (mean, std) = (
        take("stats.mean", usize::MAX)?,
        take("stats.std", usize::MAX)?,
    );
    if !(mean.is_empty() && std.is_empty()) && (mean.len() != width || std.len() != width) {
        return Err(bad("plan statistics of the wrong size"));
    }
    let [vp, vm, vv, vt] = vl;
    let [dp, dm, dv] = dec;
    p.vl.state.params.data = vp;
    p.vl.state.m.data = vm;
    p.vl.state.v.data = vv;
    p.vl.state.step = header.vl_adam_step;
    p.vl.target.data = vt;
    p.decoder.state.params.data = dp;
    p.decoder.state.m.data = dm;
    p.decoder.state.v.data = dv;
    p.decoder.state.step = header.dec_adam_step;
    p.plan_stats = (!mean.is_empty()).then_some((mean, std));
    p.progress = Progress {
        vl_steps: header.vl_steps,
        dec_steps: header.dec_steps,
        seed: header.seed,
    };
    checkpoint_id(bytes).ok_or_else(|| bad("too short"))
}
