//! Update-norm checks run before aggregation: a delta whose norm is far above the median norm
//! of the round (or above an absolute cap) is set aside, so a scaled or noisy update cannot
//! dominate even a plain mean.

use super::{AggregateError, Update, norm, validate};

/// Limits on update norms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormCheck {
    /// Reject norms above `max_ratio` × the median norm of the round.
    pub max_ratio: f64,
    /// Reject norms above this absolute value (`f64::INFINITY` for none).
    pub max_norm: f64,
}

impl Default for NormCheck {
    fn default() -> Self {
        NormCheck {
            max_ratio: 3.0,
            max_norm: f64::INFINITY,
        }
    }
}

/// What the check says about one update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NormVerdict {
    /// Within limits.
    Accepted {
        /// Its norm.
        norm: f64,
    },
    /// Too large.
    Rejected {
        /// Its norm.
        norm: f64,
        /// The limit it broke.
        limit: f64,
    },
}

/// Verdicts for every update (in order); errors for empty, ragged or non-finite sets.
pub fn screen_updates(
    updates: &[Update],
    check: NormCheck,
) -> Result<Vec<NormVerdict>, AggregateError> {
    validate(updates)?;
    let norms: Vec<f64> = updates.iter().map(|u| norm(&u.delta)).collect();
    let mut sorted = norms.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    };
    let limit = (check.max_ratio * median).min(check.max_norm);
    Ok(norms
        .into_iter()
        .map(|norm| {
            if norm > limit {
                NormVerdict::Rejected { norm, limit }
            } else {
                NormVerdict::Accepted { norm }
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_update_is_rejected() {
        let ups: Vec<Update> = [1.0, 1.2, 0.9, 1.1, -10.0]
            .iter()
            .map(|&s| Update {
                delta: vec![s, s],
                samples: 1,
            })
            .collect();
        let v = screen_updates(&ups, NormCheck::default()).unwrap();
        assert!(
            v[..4]
                .iter()
                .all(|x| matches!(x, NormVerdict::Accepted { .. }))
        );
        assert!(matches!(v[4], NormVerdict::Rejected { .. }));
        let capped = screen_updates(
            &ups,
            NormCheck {
                max_ratio: 100.0,
                max_norm: 1.5,
            },
        )
        .unwrap();
        assert_eq!(
            capped
                .iter()
                .filter(|x| matches!(x, NormVerdict::Rejected { .. }))
                .count(),
            3
        );
    }
}
