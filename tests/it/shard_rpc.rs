//! The shard protocol on the overlay's RPC, between two real peers: a call answered
//! `RateLimited` waits and retries instead of giving the host up (and fails only when the budget
//! never refills); a peer that runs no shard host says so at once; a request that is not a shard
//! message is refused and lowers the sender's score.

use std::time::{Duration, Instant};

use autonet_actors::shards::rpc::{CallError, SHARD_SERVICE, call};
use autonet_actors::shards::wire::{self, ShardRequest, ShardResponse};
use autonet_actors::shards::{HostConfig, ShardHost};
use autonet_p2p::testnet::{Peer, accept_all, local_config, poll_until};
use autonet_p2p::{Client, InboundRpc, Keypair, RequestBudget, RpcResponse};
use tokio::sync::mpsc;

/// A fake shard host on `server`: answers every request `Has(true)`, within `budget`.
async fn answer_has(server: &Client, budget: RequestBudget) -> anyhow::Result<()> {
    let (tx, mut requests) = mpsc::channel::<InboundRpc>(16);
    server.serve_rpc(SHARD_SERVICE, tx, Some(budget)).await?;
    let app = server.clone();
    tokio::spawn(async move {
        while let Some(rpc) = requests.recv().await {
            let body = wire::encode(&ShardResponse::Has(true));
            let _ = app.answer_rpc(rpc.id, RpcResponse::Ok { body }).await;
        }
    });
    Ok(())
}

async fn two_peers() -> anyhow::Result<(Peer, Peer)> {
    let server = Peer::start(
        local_config(Keypair::generate_ed25519(), vec![]),
        accept_all(),
    )
    .await?;
    let addr = server.tcp_addr().expect("a TCP listen address");
    let client = Peer::start(
        local_config(Keypair::generate_ed25519(), vec![addr.clone()]),
        accept_all(),
    )
    .await?;
    client.client.dial(addr).await?;
    Ok((server, client))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_shard_call_waits_and_retries() -> anyhow::Result<()> {
    let (server, client) = two_peers().await?;
    // One request at once, refilled at 5 a second: the second call is answered RateLimited
    // first, then served once its retry finds a token.
    let budget = RequestBudget {
        burst: 1,
        per_second: 5,
    };
    answer_has(&server.client, budget).await?;
    let probe = ShardRequest::Has {
        model: [1; 32],
        index: 0,
    };
    for _ in 0..3 {
        let answer = call(&client.client, server.peer_id, &probe).await?;
        assert_eq!(answer, ShardResponse::Has(true));
    }
    let limited = server.client.status().await?.counters.requests_rate_limited;
    assert!(
        limited >= 1,
        "no call was rate limited: the test proves nothing"
    );
    client.stop().await;
    server.stop().await;

    // A budget that never refills: the retries run out and the call says why.
    let (server, client) = two_peers().await?;
    let budget = RequestBudget {
        burst: 1,
        per_second: 0,
    };
    answer_has(&server.client, budget).await?;
    call(&client.client, server.peer_id, &probe).await?;
    let started = Instant::now();
    let refused = call(&client.client, server.peer_id, &probe).await;
    assert!(
        matches!(refused, Err(CallError::RateLimited)),
        "{refused:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "no backoff"
    );
    client.stop().await;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_host_is_unavailable_at_once_and_garbage_is_refused_and_penalized() -> anyhow::Result<()>
{
    let (server, client) = two_peers().await?;
    let probe = ShardRequest::Has {
        model: [1; 32],
        index: 0,
    };
    // No shard host yet: the event loop answers for the service nobody serves, without a
    // timeout (placement probes every known peer this way).
    let started = Instant::now();
    let none = call(&client.client, server.peer_id, &probe).await;
    assert!(matches!(none, Err(CallError::Unavailable(_))), "{none:?}");
    assert!(started.elapsed() < Duration::from_secs(10));

    let dir = tempfile::tempdir()?;
    let host = ShardHost::start(server.client.clone(), HostConfig::new(dir.path())).await?;
    let answer = call(&client.client, server.peer_id, &probe).await?;
    assert_eq!(answer, ShardResponse::Has(false));
    let garbage = client
        .client
        .rpc(server.peer_id, SHARD_SERVICE, vec![0xff, 0x00, 0x13])
        .await?;
    assert!(matches!(garbage, RpcResponse::Error { .. }), "{garbage:?}");
    let penalized = poll_until(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async {
            let score = server.client.peer_score(client.peer_id).await.ok()??;
            (score < 0.0).then_some(score)
        },
    )
    .await;
    assert!(penalized.is_some(), "the sender of garbage kept its score");
    host.shutdown().await;
    client.stop().await;
    server.stop().await;
    Ok(())
}
