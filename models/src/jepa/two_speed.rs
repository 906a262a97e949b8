//! Two-speed inference (prototype §5.2): answer from the local decoder with a cached latent plan
//! when the query is simple and a similar query's plan is cached (fast path); otherwise ask an
//! inference peer for an updated plan (slow path) and cache it. With no peer reachable, the
//! local plan still answers.
//!
//! complexity = clip(0.3·min(1, S/128) + 0.7·novelty, 0, 1), novelty = (1 − cos(q, centroid of
//! cached queries))/2 (1 with an empty cache); complexity ≥ 0.6 goes slow; otherwise the best
//! cached plan with cosine ≥ 0.75 answers (confidence = that cosine); no such hit goes slow.

use std::collections::VecDeque;

use super::plan_wire::PlanRequest;

/// Routing thresholds (prototype defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoSpeedConfig {
    /// Complexity at or above which the slow path is asked.
    pub complexity_threshold: f64,
    /// Cache hits below this cosine do not answer.
    pub cache_similarity_threshold: f64,
    /// Most cached plans (least recently used dropped first).
    pub cache_size: usize,
    /// Weight of the length term.
    pub length_weight: f64,
    /// Weight of the novelty term.
    pub novelty_weight: f64,
    /// Length at which the length term saturates, halved (S/(2·ref)).
    pub length_reference: f64,
}

impl Default for TwoSpeedConfig {
    fn default() -> Self {
        TwoSpeedConfig {
            complexity_threshold: 0.6,
            cache_similarity_threshold: 0.75,
            cache_size: 256,
            length_weight: 0.3,
            novelty_weight: 0.7,
            length_reference: 64.0,
        }
    }
}

/// Which path produced an answer's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// A cached plan of a similar query, decoded locally.
    FastCached,
    /// The local encoder's own plan, decoded locally, because no inference peer answered.
    FastLocal,
    /// A plan from an inference peer (then cached).
    Slow,
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Path::FastCached => "fast (cached plan)",
            Path::FastLocal => "fast (local plan; no inference peer reachable)",
            Path::Slow => "slow (plan from an inference peer)",
        })
    }
}

/// Where updated plans come from: inference peers over the overlay's request-response
/// protocol (the node implements this); `None` when no peer answered.
pub trait PlanSource {
    /// An updated plan (K·D values) for a query, or `None` when no peer answered.
    fn plan(&mut self, request: &PlanRequest) -> Option<Vec<f32>>;
}

/// No network: never answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offline;

impl PlanSource for Offline {
    fn plan(&mut self, _: &PlanRequest) -> Option<Vec<f32>> {
        None
    }
}

/// The routing decision for a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Use this cached plan; confidence is its cosine to the query.
    Fast {
        /// The plan.
        plan: Vec<f32>,
        /// Cosine similarity of the cached query.
        confidence: f64,
    },
    /// Ask the slow path.
    Slow {
        /// Complexity of the query.
        complexity: f64,
    },
}

/// The plan cache and router.
#[derive(Debug, Clone, Default)]
pub struct TwoSpeed {
    /// Thresholds.
    pub config: TwoSpeedConfig,
    cache: VecDeque<(Vec<f32>, Vec<f32>)>,
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let norm = |xs: &[f32]| {
        xs.iter()
            .map(|x| {
                let v = f64::from(*x);
                v * v
            })
            .sum::<f64>()
            .sqrt()
    };
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

impl TwoSpeed {
    /// An empty cache with `config`.
    pub fn new(config: TwoSpeedConfig) -> Self {
        TwoSpeed {
            config,
            cache: VecDeque::new(),
        }
    }

    /// Cached plans.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Complexity of a query of `length` tokens with embedding `q`.
    pub fn complexity(&self, q: &[f32], length: usize) -> f64 {
        let novelty = if self.cache.is_empty() {
            1.0
        } else {
            let mut centroid = vec![0f32; q.len()];
            for (key, _) in &self.cache {
                centroid
                    .iter_mut()
                    .zip(key)
                    .for_each(|(c, k)| *c += k / self.cache.len() as f32);
            }
            (1.0 - cosine(q, &centroid)) / 2.0
        };
        let length_term = (length as f64 / (2.0 * self.config.length_reference)).min(1.0);
        (self.config.length_weight * length_term + self.config.novelty_weight * novelty)
            .clamp(0.0, 1.0)
    }

    /// Routes a query.
    pub fn route(&mut self, q: &[f32], length: usize) -> Route {
        let complexity = self.complexity(q, length);
        if complexity >= self.config.complexity_threshold {
            return Route::Slow { complexity };
        }
        let best = self
            .cache
            .iter()
            .enumerate()
            .map(|(i, (key, _))| (i, cosine(q, key)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, sim)) if sim >= self.config.cache_similarity_threshold => {
                // Move to the back: most recently used.
                let entry = self.cache.remove(i);
                let plan = entry.as_ref().map(|(_, p)| p.clone()).unwrap_or_default();
                if let Some(entry) = entry {
                    self.cache.push_back(entry);
                }
                Route::Fast {
                    plan,
                    confidence: sim,
                }
            }
            _ => Route::Slow { complexity },
        }
    }

    /// Stores a plan for a query embedding.
    pub fn insert(&mut self, q: Vec<f32>, plan: Vec<f32>) {
        if self.cache.len() >= self.config.cache_size.max(1) {
            self.cache.pop_front();
        }
        self.cache.push_back((q, plan));
    }

    /// Picks the plan for a query: cached (fast), from a peer (slow, then cached), or the
    /// local plan when the slow path is needed but no peer answers.
    pub fn choose(
        &mut self,
        q: &[f32],
        length: usize,
        local_plan: &[f32],
        request: &PlanRequest,
        peers: &mut dyn PlanSource,
    ) -> (Vec<f32>, Path) {
        match self.route(q, length) {
            Route::Fast { plan, .. } => (plan, Path::FastCached),
            Route::Slow { .. } => match peers.plan(request) {
                Some(plan) => {
                    self.insert(q.to_vec(), plan.clone());
                    (plan, Path::Slow)
                }
                None => (local_plan.to_vec(), Path::FastLocal),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Peer(Vec<f32>);
    impl PlanSource for Peer {
        fn plan(&mut self, _: &PlanRequest) -> Option<Vec<f32>> {
            Some(self.0.clone())
        }
    }

    #[test]
    fn offline_answers_locally_then_peer_plan_is_cached_and_reused() {
        let mut ts = TwoSpeed::new(TwoSpeedConfig::default());
        let q = vec![1.0, 0.0, 0.5];
        let local = vec![0.1; 4];
        let r = PlanRequest {
            version: 1,
            layout: Vec::new(),
            pixels: vec![0; 64],
            prompt: String::new(),
        };
        assert_eq!(
            ts.choose(&q, 5, &local, &r, &mut Offline),
            (local.clone(), Path::FastLocal)
        );
        let remote = vec![0.9; 4];
        assert_eq!(
            ts.choose(&q, 5, &local, &r, &mut Peer(remote.clone())),
            (remote.clone(), Path::Slow)
        );
        // A near-identical query now hits the cache, even offline.
        let q2 = vec![1.0, 0.01, 0.5];
        assert_eq!(
            ts.choose(&q2, 5, &local, &r, &mut Offline),
            (remote, Path::FastCached)
        );
        // A very different query is novel: slow path, here offline, so local.
        let q3 = vec![-1.0, 0.0, -0.5];
        assert_eq!(
            ts.choose(&q3, 5, &local, &r, &mut Offline).1,
            Path::FastLocal
        );
    }

    #[test]
    fn cache_is_bounded() {
        let mut ts = TwoSpeed::new(TwoSpeedConfig {
            cache_size: 2,
            ..TwoSpeedConfig::default()
        });
        for i in 0..5 {
            ts.insert(vec![i as f32], vec![0.0]);
        }
        assert_eq!(ts.len(), 2);
    }
}
