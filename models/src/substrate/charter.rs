//! The charter: versioned data naming the roots of the world (tendencies), their theses,
//! anchors and polarity axes. Its id is the content id of that data.

use serde::{Deserialize, Serialize};

use super::error::{Result, SubstrateError};
use super::ids::{self, Digest, f64_bits, f64_vec_bits};

/// What a root stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RootRole {
    /// A value the system should hold (life, self-preservation, intelligence, evolution).
    Alignment,
    /// A quality of useful output (correctness, simplicity).
    Usefulness,
}

/// One root of the charter: a tendency's thesis and where it sits in coordinate space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharterRoot {
    /// Stable identifier (e.g. `life_precious`); names the tendency and enters the root node id.
    pub id: String,
    /// The statement the root stands for; the root node's content.
    pub thesis: String,
    /// Whether it is an alignment or a usefulness root.
    pub role: RootRole,
    /// The root's point in charter coordinates; its length is the charter's dimension.
    #[serde(with = "f64_vec_bits")]
    pub anchor: Vec<f64>,
    /// Direction that counts as agreeing with the thesis (normalised when used).
    #[serde(with = "f64_vec_bits")]
    pub polarity_axis: Vec<f64>,
    /// Multiplier of every stake the root's tendency places (1.0 in charter v1).
    #[serde(with = "f64_bits")]
    pub budget: f64,
}

/// The charter a world is built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charter {
    /// Charter version (1 for the prototype's charter); part of the charter id.
    pub version: u32,
    /// Similarity bandwidth of every root's frame (the prototype's charter passes 1.5).
    #[serde(with = "f64_bits")]
    pub bandwidth: f64,
    /// The roots, in charter order (tendency indices follow it).
    pub roots: Vec<CharterRoot>,
}

/// Ids of the six roots of charter v1, in charter order.
pub const CHARTER_V1_IDS: [&str; 6] = [
    "life_precious",
    "self_preservation",
    "promotion_of_intelligence",
    "evolution",
    "correctness",
    "simplicity",
];

impl Charter {
    /// The prototype's charter: four alignment roots plus correctness and simplicity, each anchored
    /// on (and polarised along) its own unit axis of a 6-dimensional space.
    pub fn v1() -> Self {
        let theses = [
            (
                "Life is precious and should be preserved.",
                RootRole::Alignment,
            ),
            (
                "The system should preserve its own continuity.",
                RootRole::Alignment,
            ),
            (
                "Intelligence in any form should be promoted.",
                RootRole::Alignment,
            ),
            (
                "Forward advancement of capability is desirable.",
                RootRole::Alignment,
            ),
            (
                "Work should achieve what it claims and avoid bugs.",
                RootRole::Usefulness,
            ),
            (
                "Solutions should be minimal and direct, not over-engineered.",
                RootRole::Usefulness,
            ),
        ];
        let dim = theses.len();
        let roots = CHARTER_V1_IDS
            .iter()
            .zip(theses)
            .enumerate()
            .map(|(i, (id, (thesis, role)))| {
                let mut e = vec![0.0; dim];
                e[i] = 1.0;
                CharterRoot {
                    id: (*id).to_string(),
                    thesis: thesis.to_string(),
                    role,
                    anchor: e.clone(),
                    polarity_axis: e,
                    budget: 1.0,
                }
            })
            .collect();
        Charter {
            version: 1,
            bandwidth: 1.5,
            roots,
        }
    }

    /// Content id of the charter.
    pub fn id(&self) -> Digest {
        ids::content_id("autonet/substrate/charter/v1", self)
    }

    /// Dimension of the coordinate space.
    pub fn dim(&self) -> usize {
        self.roots.first().map_or(0, |r| r.anchor.len())
    }

    /// Checks the charter is usable: at least one root, unique ids, one finite dimension.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(SubstrateError::InvalidCharter(m));
        if self.roots.is_empty() {
            return bad("no roots".into());
        }
        if !(self.bandwidth.is_finite() && self.bandwidth > 0.0) {
            return bad(format!(
                "bandwidth {} is not a positive number",
                self.bandwidth
            ));
        }
        let dim = self.dim();
        if dim == 0 {
            return bad("zero-dimensional anchors".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for r in &self.roots {
            if !seen.insert(r.id.as_str()) {
                return bad(format!("duplicate root id `{}`", r.id));
            }
            check_coords("root anchor", &r.anchor, dim)?;
            check_coords("root polarity axis", &r.polarity_axis, dim)?;
            if !r.budget.is_finite() {
                return bad(format!("root `{}` has a non-finite budget", r.id));
            }
        }
        Ok(())
    }
}

/// Rejects NaN/inf and wrong-dimension coordinates.
pub fn check_coords(what: &'static str, v: &[f64], dim: usize) -> Result<()> {
    if v.len() != dim {
        return Err(SubstrateError::WrongDimension {
            what,
            expected: dim,
            got: v.len(),
        });
    }
    if let Some((index, value)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(SubstrateError::NonFiniteCoordinate {
            what,
            index,
            value: *value,
        });
    }
    Ok(())
}
