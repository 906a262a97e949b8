//! The role actors' content fetcher (`autonet_actors::roles::fetch`) against real peers: a
//! content whose provider died is fetched from another provider, and a content nobody serves is
//! retried (with backoff) while every call answers at once instead of waiting on the network.

use std::sync::Arc;
use std::time::Duration;

use autonet_actors::roles::fetch::{ContentKind, Fetcher};
use autonet_actors::shards::{HoldAuthority, ShardError};
use autonet_contracts::RegisteredModel;
use autonet_p2p::Keypair;
use autonet_p2p::PeerId;
use autonet_p2p::testnet::{Peer, accept_all, local_config, poll_until};
use autonet_store::Store;
use futures::future::BoxFuture;

const POLL: Duration = Duration::from_millis(100);
const DEADLINE: Duration = Duration::from_secs(60);

/// A chain with no registered model: this test fetches solutions, which never touch it.
struct NoModels;

impl HoldAuthority for NoModels {
    fn registration(&self, _: [u8; 32]) -> BoxFuture<'_, Result<RegisteredModel, ShardError>> {
        Box::pin(async { Err(ShardError::Chain("no registry in this test".into())) })
    }
    fn is_staked(&self, _: PeerId) -> BoxFuture<'_, bool> {
        Box::pin(async { false })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_provider_is_skipped_and_missing_content_is_retried() -> anyhow::Result<()> {
    let boot = Peer::start(
        local_config(Keypair::generate_ed25519(), vec![]),
        accept_all(),
    )
    .await?;
    let addr = boot.tcp_addr().unwrap();
    let start = || {
        Peer::start(
            local_config(Keypair::generate_ed25519(), vec![addr.clone()]),
            accept_all(),
        )
    };
    let (dead, live, me) = (start().await?, start().await?, start().await?);

    let data: Vec<u8> = (0..50_000).map(|_| rand::random::<u8>()).collect();
    let id = dead.client.provide(data.clone()).await?;
    live.client.provide(data.clone()).await?;
    let both = poll_until(DEADLINE, POLL, || async {
        let found = me.client.all_providers(id).await.ok()?;
        (found.contains(&dead.peer_id) && found.contains(&live.peer_id)).then_some(())
    })
    .await;
    assert!(both.is_some(), "both provider records never showed up");
    // The dead provider's record outlives it.
    dead.stop().await;

    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(dir.path().join("state.redb"))?);
    let fetcher = Fetcher::new(me.client.clone(), store.clone(), Arc::new(NoModels));
    let got = poll_until(DEADLINE, POLL, || async {
        fetcher.get(id, ContentKind::Solution).ok().flatten()
    })
    .await;
    assert!(got == Some(data), "never fetched from the live provider");
    assert_eq!(fetcher.failures(id), 0, "fetched content is not tracked");

    let missing = [9u8; 32];
    let retried = poll_until(DEADLINE, POLL, || async {
        let absent = fetcher.get(missing, ContentKind::Solution).ok()?.is_none();
        (absent && fetcher.failures(missing) >= 3).then_some(())
    })
    .await;
    assert!(retried.is_some(), "a missing content is retried");

    for p in [live, me, boot] {
        p.stop().await;
    }
    Ok(())
}
