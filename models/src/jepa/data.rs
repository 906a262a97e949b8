//! The committed training data: scikit-learn's 8×8 digit images (models/data/digits.bin,
//! extracted once by scripts/jepa-graphs/extract_digits.py) with captions built from labels,
//! and the byte tokenizer shared by the text encoder and the decoder.

use super::error::JepaError;
use super::manifest::Config;
use super::rng::Rng;

/// The committed digits file (65-byte records: label, then 64 pixels 0..16).
pub const DIGITS_BIN: &[u8] = include_bytes!("../../data/digits.bin");
/// Padding token.
pub const PAD: i64 = 0;
/// Beginning of sequence (decoder input).
pub const BOS: i64 = 1;
/// End of sequence.
pub const EOS: i64 = 2;
/// Byte b is token b + 4.
pub const BYTE_OFFSET: i64 = 4;

const WORDS: [&str; 10] = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

/// One labelled 8×8 image.
#[derive(Debug, Clone)]
pub struct Digit {
    /// 0..9.
    pub label: u8,
    /// Grey levels 0..16, row-major.
    pub pixels: [u8; 64],
}

/// Parses the digits file.
pub fn parse_digits(bytes: &[u8]) -> Result<Vec<Digit>, JepaError> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(65) {
        return Err(JepaError::Data(format!(
            "digits file of {} bytes is not whole 65-byte records",
            bytes.len()
        )));
    }
    bytes
        .chunks_exact(65)
        .map(|r| {
            let mut pixels = [0u8; 64];
            pixels.copy_from_slice(&r[1..]);
            if r[0] > 9 || pixels.iter().any(|&p| p > 16) {
                return Err(JepaError::Data("digit record out of range".to_string()));
            }
            Ok(Digit {
                label: r[0],
                pixels,
            })
        })
        .collect()
}

/// The committed digits: (training set, held-out set); the last 297 images are held out.
pub fn committed_digits() -> Result<(Vec<Digit>, Vec<Digit>), JepaError> {
    let mut all = parse_digits(DIGITS_BIN)?;
    let held_out = all.split_off(all.len().saturating_sub(297));
    Ok((all, held_out))
}

/// The caption of a label, e.g. "digit seven".
pub fn caption(label: u8) -> String {
    format!("digit {}", WORDS[usize::from(label) % 10])
}

/// Byte tokens of `text` followed by EOS, padded with PAD to `len` (truncated to fit).
pub fn tokenize(text: &str, len: usize) -> Vec<i64> {
    let mut tokens: Vec<i64> = text
        .bytes()
        .take(len.saturating_sub(1))
        .map(|b| i64::from(b) + BYTE_OFFSET)
        .collect();
    tokens.push(EOS);
    tokens.resize(len, PAD);
    tokens
}

/// Text of tokens up to EOS (specials dropped).
pub fn detokenize(tokens: &[i64]) -> String {
    let bytes: Vec<u8> = tokens
        .iter()
        .take_while(|&&t| t != EOS)
        .filter_map(|&t| u8::try_from(t - BYTE_OFFSET).ok())
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Appends one image as (C, H, W) floats: nearest-neighbour upsampling to the config's side,
/// grey replicated over channels, levels scaled to [-0.5, 0.5].
pub fn push_image(out: &mut Vec<f32>, pixels: &[u8; 64], config: &Config) {
    let side = config.image;
    for _ in 0..config.channels {
        for y in 0..side {
            for x in 0..side {
                let p = pixels[(y * 8 / side) * 8 + x * 8 / side];
                out.push(f32::from(p) / 16.0 - 0.5);
            }
        }
    }
}

/// A patch-keep mask (P floats) hiding `ratio` of the patches, chosen at random.
pub fn push_patch_mask(out: &mut Vec<f32>, patches: usize, ratio: f64, rng: &mut Rng) {
    let hidden = ((patches as f64) * ratio).round() as usize;
    let start = out.len();
    out.resize(start + patches, 1.0);
    let mut order: Vec<usize> = (0..patches).collect();
    for i in (1..patches).rev() {
        order.swap(i, rng.below(i + 1));
    }
    for &p in order.iter().take(hidden) {
        out[start + p] = 0.0;
    }
}
