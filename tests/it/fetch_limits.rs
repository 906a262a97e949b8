//! Fetch sizes against a lying provider over real libp2p: a provider that claims a content has
//! u32::MAX chunks of 1 MiB is dropped on its first answer (the fetcher knows the most the
//! content may weigh before it asks), penalized, and the fetching process's memory stays bounded;
//! one that changes its chunk count between answers is dropped at the change.

use std::sync::atomic::Ordering;
use std::time::Duration;

use autonet_actors::roles::fetch::ContentKind;
use autonet_p2p::testnet::{Peer, accept_all, local_config, poll_until};
use autonet_p2p::{Keypair, P2pError};

use crate::liar::Liar;

const POLL: Duration = Duration::from_millis(100);
const MIB: u64 = 1 << 20;

/// Starts a fetcher and a liar connected to it; returns both and the liar's score before any lie.
async fn fetcher_and_liar(totals: Vec<u32>, junk_chunks: u32) -> anyhow::Result<(Peer, Liar, f64)> {
    let fetcher = Peer::start(
        local_config(Keypair::generate_ed25519(), vec![]),
        accept_all(),
    )
    .await?;
    let liar = Liar::start(fetcher.tcp_addr().unwrap(), totals, junk_chunks)?;
    let connected = poll_until(Duration::from_secs(30), POLL, || async {
        let known = fetcher.client.known_peers().await.ok()?;
        let scored = fetcher.client.peer_score(liar.peer_id).await.ok()?;
        (known.contains(&liar.peer_id) && scored.is_some()).then_some(())
    })
    .await;
    assert!(connected.is_some(), "the liar never connected");
    let score = fetcher
        .client
        .peer_score(liar.peer_id)
        .await?
        .unwrap_or(0.0);
    Ok((fetcher, liar, score))
}

/// Polls until `liar`'s score at `fetcher` fell below `before` and below zero.
async fn penalized(fetcher: &Peer, liar: &Liar, before: f64) -> bool {
    poll_until(Duration::from_secs(10), POLL, || async {
        let score = fetcher.client.peer_score(liar.peer_id).await.ok()??;
        (score < before && score < 0.0).then_some(score)
    })
    .await
    .is_some()
}

/// The process's peak resident set (VmHWM) in bytes, from /proc/self/status.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM in /proc/self/status")
        * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_lying_about_its_total_is_dropped_and_memory_stays_bounded() -> anyhow::Result<()>
{
    // The liar claims 4 PiB and would send 256 MiB of junk before running dry.
    let (fetcher, liar, before_score) = fetcher_and_liar(vec![u32::MAX], 256).await?;

    let id = [0x42u8; 32];
    let before = peak_rss();
    let result = fetcher
        .client
        .fetch_from(
            liar.peer_id,
            id,
            ContentKind::Solution.max_bytes(),
            Duration::from_secs(30),
        )
        .await;
    let grew = peak_rss().saturating_sub(before);
    eprintln!(
        "fetch from the liar: {:?}; peak RSS grew by {} MiB; liar served {} chunks",
        result.as_ref().map(Vec::len),
        grew / MIB,
        liar.served.load(Ordering::SeqCst)
    );
    assert!(result.is_err(), "a lying provider's content was accepted");
    assert!(
        grew < 64 * MIB,
        "the fetcher's peak RSS grew by {} MiB while talking to a liar",
        grew / MIB
    );
    assert_eq!(
        liar.served.load(Ordering::SeqCst),
        1,
        "the liar was asked for more chunks after claiming an impossible total"
    );
    assert!(
        penalized(&fetcher, &liar, before_score).await,
        "the liar was not penalized"
    );
    liar.stop().await;
    fetcher.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_changing_its_total_midway_is_dropped_at_the_change() -> anyhow::Result<()> {
    // 3 chunks claimed, then 4: both within the cap, but a content's size never changes.
    let (fetcher, liar, before) = fetcher_and_liar(vec![3, 4], 8).await?;
    let result = fetcher
        .client
        .fetch_from(
            liar.peer_id,
            [0x43u8; 32],
            ContentKind::Solution.max_bytes(),
            Duration::from_secs(30),
        )
        .await;
    assert!(
        matches!(result, Err(P2pError::ProviderLied { ref reason, .. }) if reason.contains("then 4")),
        "{:?}",
        result.as_ref().map(Vec::len)
    );
    assert_eq!(
        liar.served.load(Ordering::SeqCst),
        2,
        "asked on after the change"
    );
    assert!(
        penalized(&fetcher, &liar, before).await,
        "the liar was not penalized"
    );
    liar.stop().await;
    fetcher.stop().await;
    Ok(())
}
