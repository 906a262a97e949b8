//! The model a simulated network trains is reachable through its shards: after the run, a fresh
//! peer fetches each epoch's model by the id its final mint root names on chain (the id
//! `ModelShardRegistry` registers), rebuilding it from shards spread over at least three peers
//! with `m` of the shards gone, and gets the aggregator's bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use alloy::primitives::U256;
use autonet_actors::roles::ctx::CONTENT;
use autonet_actors::shards::{ChainRoots, FetchOptions, fetch};
use autonet_contracts::{Chain, ProtocolView};
use autonet_node::simulate::SimulateArgs;
use autonet_node::simulate::network::Network;
use autonet_p2p::testnet::{Peer, accept_all, local_config, poll_until};
use autonet_p2p::{Keypair, PeerId};
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    simulate: SimulateArgs,
}

/// Which `m` of the `n` shards are gone for `epoch`: the first `m` (data shards), the last `m`
/// (parity) and a spread of data and parity shards, in turn.
fn gone(epoch: u64, n: u16, m: u16) -> BTreeSet<u16> {
    match epoch % 3 {
        1 => (0..m).collect(),
        2 => (n - m..n).collect(),
        _ => (0..m).map(|i| (i * 3 + 1) % n).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_epochs_model_is_fetched_from_its_shards_by_its_on_chain_id() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let args = Cli::try_parse_from(["simulate", "--seed", "1", "--json"])?.simulate;
    let mut net = Network::start(&args, dir.path()).await?;
    net.run_to_completion(Duration::from_secs(600), false)
        .await
        .map_err(anyhow::Error::msg)?;

    let peers: Vec<_> = net.running.iter().flatten().collect();
    let bootstrap = peers[0].addrs[0].clone();
    let fresh = Peer::start(
        local_config(Keypair::generate_ed25519(), vec![bootstrap]),
        accept_all(),
    )
    .await?;
    let mut models = BTreeMap::new();
    for epoch in 1..=net.plan.epochs {
        let model = net.chain.final_model_of(U256::from(epoch)).await?;
        assert!(!model.is_zero(), "epoch {epoch} has no final model");
        let info = net.chain.model_info(model).await?;
        let n = info.k + info.m;
        // Holders of each shard among the network's peers.
        let mut holders: BTreeMap<u16, Vec<PeerId>> = BTreeMap::new();
        for p in &peers {
            for held in p.shards.held() {
                if held.manifest.id().0 == model.0 {
                    for i in held.indices {
                        holders.entry(i).or_default().push(p.peer_id);
                    }
                }
            }
        }
        assert_eq!(holders.len(), usize::from(n), "epoch {epoch}: {holders:?}");
        let distinct: BTreeSet<_> = holders.values().flatten().collect();
        assert!(distinct.len() >= 3, "epoch {epoch}: shards on {distinct:?}");
        // `m` shards are gone: every copy is dropped.
        let gone = gone(epoch, n, info.m);
        for p in &peers {
            for i in &gone {
                if p.shards.holds(&model.0, *i) {
                    p.shards.drop_shard(&model.0, *i).await?;
                }
            }
        }
        let roots = ChainRoots(&*net.chain);
        let fetched = poll_until(Duration::from_secs(120), Duration::from_millis(250), || {
            let (client, roots) = (&fresh.client, &roots);
            async move {
                fetch(client, roots, model.0, FetchOptions::default())
                    .await
                    .ok()
            }
        })
        .await
        .unwrap_or_else(|| panic!("epoch {epoch}: model {model} was never fetched"));
        assert_eq!(*blake3::hash(&fetched.bytes).as_bytes(), model.0);
        for (i, _) in &fetched.report.fetched {
            // A repair may have put a dropped shard back meanwhile; only then may it be used.
            assert!(
                !gone.contains(i) || peers.iter().any(|p| p.shards.holds(&model.0, *i)),
                "epoch {epoch}: shard {i} was gone but fetched"
            );
        }
        let sources: BTreeSet<_> = fetched.report.fetched.iter().map(|(_, p)| p).collect();
        assert!(
            sources.len() >= 3,
            "epoch {epoch}: fetched from {sources:?}"
        );
        models.insert(model.0, fetched.bytes);
    }
    fresh.stop().await;
    net.stop().await;

    // The bytes are the aggregator's model, as its store kept it (opened once its last handle,
    // held by a background task of the stopped peer, is gone).
    let path = dir.path().join("aggregator-1").join("state.redb");
    let store = poll_until(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async { autonet_store::Store::open(&path).ok() },
    )
    .await
    .expect("the aggregator's store stays open");
    for (id, bytes) in &models {
        assert_eq!(store.get(CONTENT, id)?.as_ref(), Some(bytes));
    }
    Ok(())
}
