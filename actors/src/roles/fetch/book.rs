//! The fetch book: which contents are being fetched, how many attempts at each failed and when
//! the next may start, and how each provider has served this peer. Pure bookkeeping — the
//! caller passes the clock — so the retry policy is tested without a network.
//!
//! Policy: one fetch per content at a time; after a failed attempt (every provider tried, or
//! none found) the next waits an exponential backoff, so a content nobody serves costs a few
//! DHT lookups, not a busy loop. Providers that failed are tried after those that did not
//! (fewest failures first; a success clears the count), so a dead provider — a killed peer
//! whose record is still in the DHT — is not asked first again and again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use autonet_p2p::PeerId;

/// Backoff after the first failed attempt; it doubles with each further failure.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between two attempts at the same content.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The wait before the next attempt, after `failures` failed ones.
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let doublings = (failures - 1).min(16);
    FIRST_BACKOFF
        .saturating_mul(1u32 << doublings)
        .min(MAX_BACKOFF)
}

#[derive(Debug, Clone, Copy)]
struct Job {
    running: bool,
    failures: u32,
    not_before: Instant,
}

/// Fetch state of one peer.
#[derive(Debug, Default)]
pub struct FetchBook {
    jobs: BTreeMap<[u8; 32], Job>,
    /// Failures since the last success, per provider.
    provider_failures: BTreeMap<PeerId, u32>,
}

impl FetchBook {
    /// Whether an attempt at `id` should start now: none is running and the backoff after the
    /// last failure is over. When true, the attempt counts as running until
    /// [`FetchBook::attempt_failed`] or [`FetchBook::attempt_succeeded`].
    pub fn begin(&mut self, id: [u8; 32], now: Instant) -> bool {
        let job = self.jobs.entry(id).or_insert(Job {
            running: false,
            failures: 0,
            not_before: now,
        });
        if job.running || now < job.not_before {
            return false;
        }
        job.running = true;
        true
    }

    /// The attempt at `id` found no provider that served it.
    pub fn attempt_failed(&mut self, id: [u8; 32], now: Instant) {
        if let Some(job) = self.jobs.get_mut(&id) {
            job.running = false;
            job.failures += 1;
            job.not_before = now + backoff(job.failures);
        }
    }

    /// The content is stored: nothing more to track for it.
    pub fn attempt_succeeded(&mut self, id: [u8; 32]) {
        self.jobs.remove(&id);
    }

    /// Failed attempts at `id` so far (0 once it was fetched).
    pub fn failures(&self, id: [u8; 32]) -> u32 {
        self.jobs.get(&id).map_or(0, |j| j.failures)
    }

    /// `providers` in the order to try them: fewest recent failures first, ties by peer id (a
    /// fixed order, so two runs ask the same providers).
    pub fn order(&self, providers: impl IntoIterator<Item = PeerId>) -> Vec<PeerId> {
        let mut ranked: Vec<(u32, PeerId)> = providers
            .into_iter()
            .map(|p| (self.provider_failures.get(&p).copied().unwrap_or(0), p))
            .collect();
        ranked.sort();
        ranked.dedup();
        ranked.into_iter().map(|(_, p)| p).collect()
    }

    /// `peer` did not serve a content it announced (unreachable, timed out, wrong bytes).
    pub fn provider_failed(&mut self, peer: PeerId) {
        *self.provider_failures.entry(peer).or_default() += 1;
    }

    /// `peer` served a content.
    pub fn provider_served(&mut self, peer: PeerId) {
        self.provider_failures.remove(&peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_failure_and_is_capped() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), FIRST_BACKOFF);
        assert_eq!(backoff(2), FIRST_BACKOFF * 2);
        assert_eq!(backoff(3), FIRST_BACKOFF * 4);
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn one_attempt_at_a_time_and_none_before_the_backoff_ends() {
        let mut b = FetchBook::default();
        let id = [7u8; 32];
        let t0 = Instant::now();
        assert!(b.begin(id, t0));
        assert!(!b.begin(id, t0), "an attempt is running");
        b.attempt_failed(id, t0);
        assert_eq!(b.failures(id), 1);
        assert!(!b.begin(id, t0 + FIRST_BACKOFF / 2), "still backing off");
        assert!(b.begin(id, t0 + FIRST_BACKOFF));
        b.attempt_failed(id, t0 + FIRST_BACKOFF);
        assert!(!b.begin(id, t0 + FIRST_BACKOFF * 2));
        assert!(b.begin(id, t0 + FIRST_BACKOFF * 3));
        b.attempt_succeeded(id);
        assert_eq!(b.failures(id), 0);
        // Other contents are independent.
        assert!(b.begin([8u8; 32], t0));
    }

    #[test]
    fn failed_providers_are_tried_last_until_they_serve_again() {
        let mut b = FetchBook::default();
        let (x, y, z) = (PeerId::random(), PeerId::random(), PeerId::random());
        let plain = b.order([x, y, z]);
        b.provider_failed(plain[0]);
        b.provider_failed(plain[0]);
        b.provider_failed(plain[1]);
        let after = b.order([x, y, z, x]);
        assert_eq!(after, vec![plain[2], plain[1], plain[0]]);
        b.provider_served(plain[0]);
        assert_eq!(b.order([x, y, z]), vec![plain[0], plain[2], plain[1]]);
    }
}
