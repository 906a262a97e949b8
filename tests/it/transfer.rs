//! Content transfer between real peers over request-response: the provider is found through
//! Kademlia, `Client::fetch_from` (the transfer primitive under the roles' `Fetcher`) pulls the
//! content in ≤ 1 MiB chunks and checks its id; the provider's per-peer rate limit answers
//! `RateLimited` to a peer over its budget while another peer is still served.

use std::time::Duration;

use autonet_p2p::records::content_id;
use autonet_p2p::testnet::{Peer, accept_all, local_config, poll_until};
use autonet_p2p::transfer::{ChunkRequest, ChunkResponse, MAX_CHUNK_BYTES, MAX_PROVIDED_BYTES};
use autonet_p2p::{Keypair, P2pError};

const POLL: Duration = Duration::from_millis(250);

/// How long one chunk may take (generous: the test machine may be loaded).
const CHUNK_TIMEOUT: Duration = Duration::from_secs(30);

const MAX_BYTES: u64 = MAX_PROVIDED_BYTES as u64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_pulls_chunked_content_and_the_rate_limit_is_per_peer() -> anyhow::Result<()> {
    // The provider grants each peer 3 requests and no refill, so the limit is exact: fetching
    // 2.5 MiB (3 chunks) uses a peer's whole budget.
    let mut provider_config = local_config(Keypair::generate_ed25519(), vec![]);
    provider_config.limits.request_burst = 3;
    provider_config.limits.requests_per_second = 0;
    let provider = Peer::start(provider_config, accept_all()).await?;
    let addr = provider.tcp_addr().unwrap();
    let fetcher = Peer::start(
        local_config(Keypair::generate_ed25519(), vec![addr.clone()]),
        accept_all(),
    )
    .await?;
    let other = Peer::start(
        local_config(Keypair::generate_ed25519(), vec![addr]),
        accept_all(),
    )
    .await?;

    let data: Vec<u8> = (0..MAX_CHUNK_BYTES * 5 / 2)
        .map(|_| rand::random::<u8>())
        .collect();
    let id = provider.client.provide(data.clone()).await?;
    assert_eq!(id, content_id(&data));

    // The provider is found through the DHT (the provider record may take a moment to be
    // announced), the three chunks are fetched and reassembled.
    let found = poll_until(Duration::from_secs(60), POLL, || async {
        let providers = fetcher.client.providers(id).await.ok()?;
        providers.contains(&provider.peer_id).then_some(())
    })
    .await;
    assert!(found.is_some(), "the fetcher never found the provider");
    let fetched = fetcher
        .client
        .fetch_from(provider.peer_id, id, MAX_BYTES, CHUNK_TIMEOUT)
        .await?;
    assert!(fetched == data, "fetched bytes differ");

    // The fetcher's budget is spent: its next request is refused without work, and a whole fetch
    // fails with a clear error.
    let answer = fetcher
        .client
        .request_chunk(
            provider.peer_id,
            ChunkRequest {
                content: id,
                index: 0,
            },
        )
        .await?;
    assert_eq!(answer, ChunkResponse::RateLimited);
    let again = fetcher
        .client
        .fetch_from(provider.peer_id, id, MAX_BYTES, CHUNK_TIMEOUT)
        .await;
    match again {
        Err(P2pError::Request { reason, .. }) => {
            assert!(reason.contains("RateLimited"), "{reason}")
        }
        other => panic!(
            "expected a rate-limited fetch to fail, got {:?}",
            other.map(|d| d.len())
        ),
    }

    // The limit is per peer: another peer is served in full.
    let found = poll_until(Duration::from_secs(60), POLL, || async {
        let providers = other.client.providers(id).await.ok()?;
        providers.contains(&provider.peer_id).then_some(())
    })
    .await;
    assert!(
        found.is_some(),
        "the second fetcher never found the provider"
    );
    let fetched = other
        .client
        .fetch_from(provider.peer_id, id, MAX_BYTES, CHUNK_TIMEOUT)
        .await?;
    assert!(fetched == data, "the second fetcher's bytes differ");
    let counters = provider.client.status().await?.counters;
    assert!(counters.requests_rate_limited >= 2, "{counters:?}");

    // Unknown content: no provider is found, no panic.
    let missing = content_id(b"nobody provides this");
    let found = fetcher.client.providers(missing).await;
    assert!(
        found.as_ref().map_or(true, |p| p.is_empty()),
        "providers of unknown content: {found:?}"
    );

    other.stop().await;
    fetcher.stop().await;
    provider.stop().await;
    Ok(())
}
