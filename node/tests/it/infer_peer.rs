//! The slow path over the real overlay: an `autonet bootstrap --inference jepa` process answers
//! plan requests; `autonet infer --model jepa --peer ADDR` reports that the slow path answered,
//! and with the peer's model; an unreachable peer leaves the fast path answering, with the
//! reason; garbage plan requests get a clear error and, after three, a ban.

use std::time::Duration;

use autonet_p2p::{DhtMode, Keypair, NetworkConfig, RpcResponse};

use crate::overlay::{get_json, poll, start};
use crate::{autonet, run_ok, stdout};

/// Short training: both sides train the same tiny model deterministically.
const STEPS: [&str; 4] = ["--train-steps", "3", "--decoder-steps", "5"];

fn infer_json(peers: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = autonet(dir.path());
    cmd.args(["infer", "--model", "jepa", "--digit", "4", "--json"])
        .args(STEPS);
    for peer in peers {
        cmd.args(["--peer", peer]);
    }
    serde_json::from_str(&stdout(&run_ok(&mut cmd))).unwrap()
}

fn inference_peer() -> crate::overlay::Node {
    let mut args = vec![
        "bootstrap",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--inference",
        "jepa",
    ];
    args.extend_from_slice(&STEPS);
    start(&args)
}

#[test]
fn slow_path_answers_when_an_inference_peer_is_up() {
    let node = inference_peer();
    let v = infer_json(&[&node.peer_addr]);
    assert!(v["path"].as_str().unwrap().starts_with("slow"), "{v}");
    let peer_id = node.peer_addr.rsplit('/').next().unwrap();
    assert_eq!(v["peer"], peer_id, "{v}");
    // Same graphs, seeds and steps: the peer's model is the asker's.
    assert_eq!(v["peer_model"], v["local_model"], "{v}");
    assert!(v["answer"].is_string(), "{v}");
    assert_eq!(v["peer_failures"].as_array().unwrap().len(), 0, "{v}");
}

#[test]
fn unreachable_peer_leaves_the_fast_path_answering() {
    let nobody = format!(
        "/ip4/127.0.0.1/tcp/1/p2p/{}",
        Keypair::generate_ed25519().public().to_peer_id()
    );
    let v = infer_json(&[&nobody]);
    assert!(v["path"].as_str().unwrap().starts_with("fast"), "{v}");
    assert!(v["peer"].is_null(), "{v}");
    assert_eq!(v["peer_failures"].as_array().unwrap().len(), 1, "{v}");
}

#[test]
fn garbage_plan_requests_are_refused_and_the_sender_banned() {
    let node = inference_peer();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = NetworkConfig::new(Keypair::generate_ed25519());
    config.dht_mode = DhtMode::Client;
    config.topics = Vec::new();
    let me = config.keypair.public().to_peer_id().to_string();
    let server: autonet_p2p::Multiaddr = node.peer_addr.parse().unwrap();
    let server_id = autonet_p2p::peer_id_of(&server).unwrap();
    // The client stays connected while the node judges it (bans apply to connected peers).
    let (_client, first) = runtime.block_on(async {
        let (client, mut events, event_loop) =
            autonet_p2p::new(config, &mut Default::default()).unwrap();
        tokio::spawn(event_loop.run());
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        client.dial(server).await.unwrap();
        let mut answers = Vec::new();
        for _ in 0..3 {
            answers.push(
                client
                    .rpc(server_id, "jepa-plan", b"garbage".to_vec())
                    .await,
            );
        }
        (client, answers)
    });
    match &first[0] {
        Ok(RpcResponse::Error { reason }) => {
            assert!(reason.contains("bad plan request"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    poll("the sender to be banned", Duration::from_secs(60), || {
        get_json(&node.status, "/status").and_then(|s| {
            s["bans"]
                .as_array()?
                .iter()
                .any(|b| b["peer"] == me.as_str())
                .then_some(())
        })
    });
}
