//! The aggregation rules. Each returns the aggregated delta.

use super::{AggregateError, Update, dist2, norm, validate};

/// A rule with its parameters, as a project configures it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Sample-weighted mean.
    FedAvg,
    /// Coordinate-wise median.
    Median,
    /// Coordinate-wise mean after dropping `trim` values at each end.
    TrimmedMean {
        /// Values dropped per side and coordinate.
        trim: usize,
    },
    /// Mean of the `n − f` updates with the lowest Krum scores.
    MultiKrum {
        /// Byzantine updates tolerated.
        f: usize,
    },
    /// CenteredClip from the coordinate-wise median.
    CenteredClip {
        /// Clipping radius τ (in the units of the updates).
        tau: f64,
        /// Iterations.
        iterations: usize,
    },
}

impl Rule {
    /// CenteredClip with the reference parameters (τ = 1, 20 iterations).
    pub const CENTERED_CLIP: Rule = Rule::CenteredClip {
        tau: 1.0,
        iterations: 20,
    };
}

/// Applies `rule`.
pub fn aggregate(rule: Rule, updates: &[Update]) -> Result<Vec<f64>, AggregateError> {
    match rule {
        Rule::FedAvg => fedavg(updates),
        Rule::Median => median(updates),
        Rule::TrimmedMean { trim } => trimmed_mean(updates, trim),
        Rule::MultiKrum { f } => multi_krum(updates, f, updates.len().saturating_sub(f)),
        Rule::CenteredClip { tau, iterations } => centered_clip(updates, tau, iterations),
    }
}

fn weights(updates: &[Update]) -> Vec<f64> {
    let raw: Vec<f64> = updates.iter().map(|u| u.samples.max(1) as f64).collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|w| w / total).collect()
}

/// Sample-weighted FedAvg.
pub fn fedavg(updates: &[Update]) -> Result<Vec<f64>, AggregateError> {
    let len = validate(updates)?;
    let mut out = vec![0f64; len];
    for (u, w) in updates.iter().zip(weights(updates)) {
        out.iter_mut().zip(&u.delta).for_each(|(o, x)| *o += w * x);
    }
    Ok(out)
}

fn per_coordinate(
    updates: &[Update],
    f: impl Fn(&mut [f64]) -> f64,
) -> Result<Vec<f64>, AggregateError> {
    let len = validate(updates)?;
    let mut column = vec![0f64; updates.len()];
    Ok((0..len)
        .map(|j| {
            column
                .iter_mut()
                .zip(updates)
                .for_each(|(c, u)| *c = u.delta[j]);
            column.sort_by(f64::total_cmp);
            f(&mut column)
        })
        .collect())
}

/// Coordinate-wise median (mean of the two middle values for an even count).
pub fn median(updates: &[Update]) -> Result<Vec<f64>, AggregateError> {
    per_coordinate(updates, |c| {
        let n = c.len();
        if n % 2 == 1 {
            c[n / 2]
        } else {
            0.5 * (c[n / 2 - 1] + c[n / 2])
        }
    })
}

/// Coordinate-wise trimmed mean: drops the `trim` smallest and largest values per coordinate.
pub fn trimmed_mean(updates: &[Update], trim: usize) -> Result<Vec<f64>, AggregateError> {
    if updates.len() <= 2 * trim {
        return Err(AggregateError::TooFew {
            rule: "trimmed mean",
            needed: 2 * trim + 1,
            got: updates.len(),
        });
    }
    per_coordinate(updates, |c| {
        let kept = &c[trim..c.len() - trim];
        kept.iter().sum::<f64>() / kept.len() as f64
    })
}

/// Multi-Krum: scores each update by the summed squared distance to its n − f − 2 nearest
/// neighbours and returns the sample-weighted mean of the `m` best.
pub fn multi_krum(updates: &[Update], f: usize, m: usize) -> Result<Vec<f64>, AggregateError> {
    validate(updates)?;
    let n = updates.len();
    if n < 2 * f + 3 {
        return Err(AggregateError::TooFew {
            rule: "Multi-Krum",
            needed: 2 * f + 3,
            got: n,
        });
    }
    let neighbours = n - f - 2;
    let mut scores: Vec<(f64, usize)> = (0..n)
        .map(|i| {
            let mut d: Vec<f64> = (0..n)
                .filter(|&j| j != i)
                .map(|j| dist2(&updates[i].delta, &updates[j].delta))
                .collect();
            d.sort_by(f64::total_cmp);
            (d[..neighbours].iter().sum(), i)
        })
        .collect();
    scores.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let chosen: Vec<Update> = scores
        .iter()
        .take(m.clamp(1, n))
        .map(|&(_, i)| updates[i].clone())
        .collect();
    fedavg(&chosen)
}

/// CenteredClip: from the coordinate-wise median v, `iterations` times
/// v ← v + Σ_i w_i·min(1, τ/‖x_i − v‖)·(x_i − v), with sample weights w_i.
pub fn centered_clip(
    updates: &[Update],
    tau: f64,
    iterations: usize,
) -> Result<Vec<f64>, AggregateError> {
    let mut v = median(updates)?;
    let w = weights(updates);
    for _ in 0..iterations {
        let mut step = vec![0f64; v.len()];
        for (u, &wi) in updates.iter().zip(&w) {
            let diff: Vec<f64> = u.delta.iter().zip(&v).map(|(x, c)| x - c).collect();
            let d = norm(&diff);
            let scale = if d > tau { wi * tau / d } else { wi };
            step.iter_mut()
                .zip(&diff)
                .for_each(|(s, x)| *s += scale * x);
        }
        v.iter_mut().zip(&step).for_each(|(c, s)| *c += s);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(v: &[f64], samples: u64) -> Update {
        Update {
            delta: v.to_vec(),
            samples,
        }
    }

    #[test]
    fn fedavg_weights_by_samples() {
        let out = fedavg(&[up(&[1.0, 0.0], 1), up(&[4.0, 3.0], 2)]).unwrap();
        assert_eq!(out, vec![3.0, 2.0]);
    }

    #[test]
    fn median_and_trimmed_mean_ignore_one_outlier() {
        let ups = [
            up(&[1.0], 1),
            up(&[2.0], 1),
            up(&[3.0], 1),
            up(&[4.0], 1),
            up(&[1000.0], 1),
        ];
        assert_eq!(median(&ups).unwrap(), vec![3.0]);
        assert_eq!(trimmed_mean(&ups, 1).unwrap(), vec![3.0]);
        assert_eq!(median(&ups[..4]).unwrap(), vec![2.5]);
        assert!(matches!(
            trimmed_mean(&ups[..2], 1),
            Err(AggregateError::TooFew { .. })
        ));
    }

    #[test]
    fn multi_krum_drops_the_far_update() {
        let ups = [
            up(&[1.0, 1.0], 1),
            up(&[1.1, 0.9], 1),
            up(&[0.9, 1.1], 1),
            up(&[1.0, 1.05], 1),
            up(&[-50.0, 80.0], 1),
        ];
        let out = multi_krum(&ups, 1, 4).unwrap();
        assert!(
            (out[0] - 1.0).abs() < 1e-12 && (out[1] - 1.0125).abs() < 1e-12,
            "{out:?}"
        );
        assert!(matches!(
            multi_krum(&ups[..4], 1, 3),
            Err(AggregateError::TooFew { .. })
        ));
    }

    #[test]
    fn centered_clip_bounds_the_outlier_pull() {
        let ups = [
            up(&[1.0, 0.0], 1),
            up(&[1.0, 0.1], 1),
            up(&[0.9, 0.0], 1),
            up(&[1.1, 0.0], 1),
            up(&[100.0, 100.0], 1),
        ];
        let out = centered_clip(&ups, 1.0, 20).unwrap();
        // The outlier's pull is at most its weight times τ per iteration; at the fixed point
        // the honest pull balances it: offset ≤ (1/5)·τ / (4/5) = 0.25 from the honest mean.
        let honest = fedavg(&ups[..4]).unwrap();
        let offset = norm(&[out[0] - honest[0], out[1] - honest[1]]);
        assert!(offset <= 0.26, "{out:?} is {offset} from {honest:?}");
        // Without an outlier and with a radius above the spread it is the plain mean.
        let mean = centered_clip(&ups[..4], 10.0, 20).unwrap();
        let avg = fedavg(&ups[..4]).unwrap();
        assert!(mean.iter().zip(&avg).all(|(a, b)| (a - b).abs() < 1e-12));
    }

    #[test]
    fn bad_sets_are_errors() {
        assert_eq!(fedavg(&[]), Err(AggregateError::Empty));
        assert!(matches!(
            median(&[up(&[1.0], 1), up(&[1.0, 2.0], 1)]),
            Err(AggregateError::LengthMismatch { index: 1, .. })
        ));
        assert_eq!(
            fedavg(&[up(&[f64::NAN], 1)]),
            Err(AggregateError::NonFinite(0))
        );
    }
}
