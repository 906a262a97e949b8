//! Retrying transient transport errors: exponential backoff with jitter (backon), bounded by a
//! wall-clock budget, so a node that stays down is reported after the configured time however
//! long each failing request took.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder, Retryable};
use tokio::time::Instant;

use crate::backend::ChainError;

/// Longest pause between two attempts before jitter (jitter adds up to as much again): a node
/// that comes back is noticed within seconds.
const MAX_DELAY: Duration = Duration::from_secs(2);

/// Exponential delays from `first` that stop once `deadline` has passed; the last delay is cut
/// to end at the deadline, so one final attempt runs then.
struct Budget {
    delays: ExponentialBackoff,
    deadline: Instant,
}

impl Iterator for Budget {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let left = self.deadline.checked_duration_since(Instant::now())?;
        if left.is_zero() {
            return None;
        }
        self.delays.next().map(|d| d.min(left))
    }
}

/// Runs `op` until it succeeds or fails with anything but [`ChainError::Transport`], retrying
/// transport errors for `budget` of wall time (first pause `first`); then the last transport
/// error is returned as "gave up after {budget}".
pub(super) async fn retry<T, F, Fut>(
    first: Duration,
    budget: Duration,
    op: F,
) -> Result<T, ChainError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ChainError>>,
{
    let delays = ExponentialBuilder::new()
        .with_min_delay(first)
        .with_max_delay(MAX_DELAY.max(first))
        .with_jitter()
        .without_max_times()
        .build();
    let backoff = Budget {
        delays,
        deadline: Instant::now() + budget,
    };
    op.retry(backoff)
        .when(|e| matches!(e, ChainError::Transport(_)))
        .notify(|e, after| {
            tracing::debug!(target: "autonet_contracts::rpc", "retrying in {after:?} after {e}");
        })
        .await
        .map_err(|e| match e {
            ChainError::Transport(msg) => {
                ChainError::Transport(format!("gave up after {budget:?}: {msg}"))
            }
            other => other,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn transport_errors_are_retried_until_the_budget_is_spent() {
        let start = Instant::now();
        let mut calls = 0u32;
        let r: Result<(), _> = retry(Duration::from_millis(10), Duration::from_secs(1), || {
            calls += 1;
            async { Err(ChainError::Transport("down".into())) }
        })
        .await;
        let spent = start.elapsed();
        match r {
            Err(ChainError::Transport(msg)) => assert_eq!(msg, "gave up after 1s: down"),
            other => panic!("{other:?}"),
        }
        assert!(spent >= Duration::from_secs(1), "{spent:?}");
        // Backoff: far fewer attempts than a fixed 10 ms pause (100) would make.
        assert!((3..30).contains(&calls), "{calls} attempts");
    }

    #[tokio::test]
    async fn other_errors_and_success_return_at_once() {
        let mut calls = 0u32;
        let r: Result<(), _> = retry(Duration::from_millis(50), Duration::from_secs(30), || {
            calls += 1;
            async { Err(ChainError::Rejected("nonce".into())) }
        })
        .await;
        assert!(matches!(r, Err(ChainError::Rejected(_))));
        assert_eq!(calls, 1);
        let mut n = 0u32;
        let ok = retry(Duration::from_millis(50), Duration::from_secs(30), || {
            n += 1;
            let fail = n < 3;
            async move {
                if fail {
                    Err(ChainError::Transport("blip".into()))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(ok.unwrap(), 3);
    }
}
