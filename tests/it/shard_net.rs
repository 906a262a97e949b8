//! A test network of shard hosts: N in-process overlay peers (plus the bootstrap peer), each
//! with a [`ShardHost`] over its own temporary data dir that checks `Hold` requests against an
//! embedded chain, with a staked aggregator that registers models and to which peer 0 (the
//! publisher) is bound. The other peers are bound to nothing and staked in nothing.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use autonet_actors::roles::peer::bind_peer;
use autonet_actors::shards::publish::Published;
use autonet_actors::shards::{ChainAuthority, HostConfig, PublishOptions, ShardHost, publish};
use autonet_contracts::deploy::ATN;
use autonet_contracts::{Backend, Chain, Contracts, EmbeddedChain, Role};
use autonet_p2p::PeerId;
use autonet_p2p::testnet::{Peer, Testnet, TestnetOptions, poll_until};
use tempfile::TempDir;

/// Deterministic pseudo-random model bytes.
pub fn model_bytes(len: usize, seed: u8) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    blake3::Hasher::new()
        .update(&[seed])
        .finalize_xof()
        .fill(&mut bytes);
    bytes
}

pub struct ShardNet {
    pub bootstrap: Peer,
    pub peers: Vec<Option<Peer>>,
    pub hosts: Vec<Option<ShardHost>>,
    _dirs: Vec<TempDir>,
    pub chain: Arc<Contracts<EmbeddedChain>>,
    pub aggregator: Address,
}

impl ShardNet {
    /// Starts `n` peers with shard hosts configured by `configure(i, config)`.
    pub async fn start(
        n: usize,
        configure: impl Fn(usize, &mut HostConfig),
    ) -> anyhow::Result<Self> {
        let chain = EmbeddedChain::genesis(2, ATN * U256::from(10_000u64)).await?;
        let aggregator = chain.backend().accounts()[1];
        chain
            .stake(aggregator, Role::Aggregator, Role::Aggregator.min_stake())
            .await?;
        let net = Testnet::start(TestnetOptions::new(n)).await?;
        let Testnet { bootstrap, peers } = net;
        let signer = chain.backend().signers()[1].clone();
        let relayer = chain.backend().accounts()[0];
        bind_peer(&chain, relayer, &signer, &peers[0].keypair).await?;
        let chain = Arc::new(chain);
        let mut hosts = Vec::with_capacity(n);
        let mut dirs = Vec::with_capacity(n);
        for (i, peer) in peers.iter().enumerate() {
            let dir = tempfile::tempdir()?;
            let mut config = HostConfig::new(dir.path());
            config.repair_interval = None;
            configure(i, &mut config);
            let authority = Arc::new(ChainAuthority(chain.clone()));
            hosts.push(Some(
                ShardHost::start_with(peer.client.clone(), config, authority).await?,
            ));
            dirs.push(dir);
        }
        let net = Self {
            bootstrap,
            peers: peers.into_iter().map(Some).collect(),
            hosts,
            _dirs: dirs,
            chain,
            aggregator,
        };
        net.wait_until_peers_know_each_other(n - 1).await?;
        Ok(net)
    }

    /// Polls until every peer knows at least `want` other peers.
    async fn wait_until_peers_know_each_other(&self, want: usize) -> anyhow::Result<()> {
        poll_until(
            Duration::from_secs(120),
            Duration::from_millis(250),
            || async {
                for peer in self.peers.iter().flatten() {
                    let known = peer.client.known_peers().await.ok()?;
                    if known.len() < want {
                        return None;
                    }
                }
                Some(())
            },
        )
        .await
        .ok_or_else(|| anyhow::anyhow!("peers did not discover each other"))
    }

    pub fn host(&self, i: usize) -> &ShardHost {
        self.hosts[i].as_ref().expect("host is running")
    }

    /// The index of the peer with this id.
    pub fn index_of(&self, peer: PeerId) -> usize {
        self.peers
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| p.peer_id == peer))
            .expect("a peer of this net")
    }

    /// Publishes from peer `from` and registers the model with the aggregator key.
    pub async fn publish(
        &self,
        from: usize,
        bytes: Vec<u8>,
        options: &PublishOptions,
    ) -> anyhow::Result<Published> {
        Ok(publish(
            self.host(from),
            &*self.chain,
            self.aggregator,
            bytes,
            options,
        )
        .await?)
    }

    /// Stops peer `i` and its host (its files stay on disk, unserved).
    pub async fn stop(&mut self, i: usize) {
        if let Some(host) = self.hosts[i].take() {
            host.shutdown().await;
        }
        if let Some(peer) = self.peers[i].take() {
            peer.stop().await;
        }
    }

    pub async fn stop_all(mut self) {
        for i in 0..self.peers.len() {
            self.stop(i).await;
        }
        self.bootstrap.stop().await;
    }
}
