//! Fetch sizes against a lying provider over real libp2p: a provider that claims a content has
//! u32::MAX chunks of 1 MiB is dropped on its first answer (the fetcher knows the most the
//! content may weigh before it asks), penalized, and the fetching process's memory stays bounded.

use std::sync::atomic::Ordering;
use std::time::Duration;

use autonet_actors::roles::fetch::ContentKind;
use autonet_p2p::Keypair;
use autonet_p2p::testnet::{Peer, accept_all, local_config, poll_until};

use crate::liar::Liar;

const POLL: Duration = Duration::from_millis(100);
const MIB: u64 = 1 << 20;

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
    let fetcher = Peer::start(
        local_config(Keypair::generate_ed25519(), vec![]),
        accept_all(),
    )
    .await?;
    // The liar claims 4 PiB and would send 256 MiB of junk before running dry.
    let liar = Liar::start(fetcher.tcp_addr().unwrap(), u32::MAX, 256)?;
    let connected = poll_until(Duration::from_secs(30), POLL, || async {
        let known = fetcher.client.known_peers().await.ok()?;
        let scored = fetcher.client.peer_score(liar.peer_id).await.ok()?;
        (known.contains(&liar.peer_id) && scored.is_some()).then_some(())
    })
    .await;
    assert!(connected.is_some(), "the liar never connected");
    let before_score = fetcher
        .client
        .peer_score(liar.peer_id)
        .await?
        .unwrap_or(0.0);

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
    let penalized = poll_until(Duration::from_secs(10), POLL, || async {
        let score = fetcher.client.peer_score(liar.peer_id).await.ok()??;
        (score < before_score && score < 0.0).then_some(score)
    })
    .await;
    assert!(penalized.is_some(), "the liar was not penalized");
    liar.stop().await;
    fetcher.stop().await;
    Ok(())
}
