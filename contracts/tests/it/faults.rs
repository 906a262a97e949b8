//! RPC faults on anvil: a node killed and restarted mid-run, a node that stays down, and many
//! concurrent transactions from one key.

use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::Provider;
use autonet_contracts::embedded::{EMBEDDED_CHAIN_ID, dev_key};
use autonet_contracts::pending::PendingStore;
use autonet_contracts::{Backend, Chain, ChainError, DeployConfig, RpcChain, RpcConfig, deploy};
use tokio::task::JoinSet;

use crate::anvil::{Anvil, AnvilExt, fixture};
use crate::helpers::atn;

async fn nonce(url: &str, who: alloy::primitives::Address) -> u64 {
    let p = alloy::providers::ProviderBuilder::new().connect_http(url.parse().unwrap());
    p.get_transaction_count(who).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_transactions_from_one_key_all_land() {
    let (anvil, c, cast) = fixture().await;
    let before_nonce = nonce(&anvil.url, cast.deployer).await;
    let before = c.atn_balance(cast.outsider).await.unwrap();
    let mut set = JoinSet::new();
    for i in 1..=20u64 {
        let c = c.clone();
        let (from, to) = (cast.deployer, cast.outsider);
        set.spawn(async move { c.transfer_atn(from, to, U256::from(i)).await });
    }
    let mut blocks = Vec::new();
    while let Some(r) = set.join_next().await {
        blocks.push(r.unwrap().unwrap().block_number);
    }
    assert_eq!(blocks.len(), 20);
    assert_eq!(
        c.atn_balance(cast.outsider).await.unwrap(),
        before + U256::from(210u64)
    );
    assert_eq!(nonce(&anvil.url, cast.deployer).await, before_nonce + 20);
    assert!(c.backend().pending().all().is_empty());
}

async fn stop_gracefully(anvil: &mut Anvil) {
    // SIGTERM lets anvil write its state file before exiting.
    let pid = anvil.child.id().unwrap();
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    tokio::time::timeout(Duration::from_secs(20), anvil.child.wait())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anvil_restarted_mid_run_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("anvil-state.json");
    let mut anvil = Anvil::start(Some(&state), None).await;
    let port = anvil.port;
    let pending = PendingStore::open(&dir.path().join("pending.json")).unwrap();
    let chain = anvil.chain(pending).await;
    let accounts = chain.accounts();
    let c = deploy(chain, accounts[0], &DeployConfig::default())
        .await
        .unwrap();
    let (from, to) = (accounts[0], accounts[10]);
    let start_nonce = nonce(&anvil.url, from).await;

    // Ten sequential transfers in the background. After the third lands the test stops the node
    // (SIGTERM, so anvil writes its state file; nothing is in flight, since anvil may still mine
    // after writing the file) and lets the worker go on while the node is down: its sends hit
    // connection errors and are retried until the node is back on the same port.
    let (landed_tx, mut landed_rx) = tokio::sync::mpsc::channel(16);
    let (gate_tx, gate_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = {
        let c = c.clone();
        tokio::spawn(async move {
            let mut gate = Some(gate_rx);
            for i in 1..=10u64 {
                if i == 4 {
                    gate.take().unwrap().await.unwrap();
                }
                let r = c.transfer_atn(from, to, atn(i)).await;
                landed_tx.send(r.is_ok()).await.unwrap();
                r?;
            }
            Ok::<_, ChainError>(())
        })
    };
    for _ in 0..3 {
        assert!(landed_rx.recv().await.unwrap());
    }
    stop_gracefully(&mut anvil).await;
    gate_tx.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        landed_rx.try_recv().is_err(),
        "nothing can land while the node is down"
    );
    let anvil = Anvil::start(Some(&state), Some(port)).await;
    tokio::time::timeout(Duration::from_secs(60), worker)
        .await
        .unwrap()
        .unwrap()
        .unwrap();

    assert_eq!(
        c.atn_balance(to).await.unwrap(),
        atn(55),
        "every transfer landed exactly once"
    );
    assert_eq!(nonce(&anvil.url, from).await, start_nonce + 10);
    assert!(c.backend().pending().all().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_that_stays_down_gives_a_clear_transport_error() {
    let mut anvil = Anvil::start(None, None).await;
    let cfg = RpcConfig {
        expected_chain_id: Some(EMBEDDED_CHAIN_ID),
        retry_for: Duration::from_millis(500),
        ..Default::default()
    };
    let chain = RpcChain::connect(&anvil.url, vec![dev_key(0)], PendingStore::in_memory(), cfg)
        .await
        .unwrap();
    anvil.child.kill().await.unwrap();
    match chain.block_number().await {
        Err(ChainError::Transport(msg)) => assert!(msg.contains("gave up"), "{msg}"),
        other => panic!("expected a transport error, got {other:?}"),
    }
    let unreachable = RpcChain::connect(
        &anvil.url,
        vec![],
        PendingStore::in_memory(),
        RpcConfig::default(),
    )
    .await;
    assert!(matches!(unreachable, Err(ChainError::Transport(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_transaction_from_a_previous_run_is_resubmitted_on_connect() {
    use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
    use alloy::eips::Encodable2718;
    use alloy::network::TxSignerSync;
    use autonet_contracts::pending::PendingTx;

    let anvil = Anvil::start(None, None).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pending.json");
    // What a crashed run left behind: a signed transfer of 1 ether, recorded but never broadcast.
    let key = dev_key(0);
    let chain = anvil.chain(PendingStore::in_memory()).await;
    let to = dev_key(11).address();
    let before = chain.native_balance(to).await.unwrap();
    let tx_nonce = nonce(&anvil.url, key.address()).await;
    let mut tx = TxEip1559 {
        chain_id: EMBEDDED_CHAIN_ID,
        nonce: tx_nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: alloy::primitives::TxKind::Call(to),
        value: U256::from(10u64).pow(U256::from(18u64)),
        ..Default::default()
    };
    let sig = key.sign_transaction_sync(&mut tx).unwrap();
    let envelope = TxEnvelope::from(tx.into_signed(sig));
    let left = PendingStore::open(&path).unwrap();
    left.insert(PendingTx {
        from: key.address(),
        nonce: tx_nonce,
        hash: *envelope.tx_hash(),
        raw: envelope.encoded_2718().into(),
    })
    .unwrap();
    drop(left);

    let cfg = RpcConfig {
        expected_chain_id: Some(EMBEDDED_CHAIN_ID),
        ..Default::default()
    };
    let resumed = RpcChain::connect(
        &anvil.url,
        vec![key],
        PendingStore::open(&path).unwrap(),
        cfg,
    )
    .await
    .unwrap();
    assert!(resumed.pending().all().is_empty());
    assert_eq!(
        chain.native_balance(to).await.unwrap(),
        before + U256::from(10u64).pow(U256::from(18u64))
    );
    assert!(
        PendingStore::open(&path).unwrap().all().is_empty(),
        "the store forgot the mined transaction"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_transaction_is_replaced_with_higher_fees_and_lands_once() {
    let (anvil, c, cast) = fixture().await;
    let p = alloy::providers::ProviderBuilder::new().connect_http(anvil.url.parse().unwrap());
    let _: serde_json::Value = p
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    let cfg = RpcConfig {
        expected_chain_id: Some(EMBEDDED_CHAIN_ID),
        replace_after: Duration::from_millis(300),
        ..Default::default()
    };
    let slow = RpcChain::connect(&anvil.url, vec![dev_key(0)], PendingStore::in_memory(), cfg)
        .await
        .unwrap();
    let c2 = autonet_contracts::Contracts::new(slow.clone(), c.addresses);
    let before = c.atn_balance(cast.outsider).await.unwrap();
    let send = tokio::spawn(async move {
        c2.transfer_atn(dev_key(0).address(), cast.outsider, U256::from(5))
            .await
    });
    // Wait until the client has replaced the unmined transaction at least once, then mine.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while slow.pending().all().len() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stuck transaction was never replaced"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _: serde_json::Value = p
        .raw_request("anvil_mine".into(), (U256::from(1),))
        .await
        .unwrap();
    let receipt = tokio::time::timeout(Duration::from_secs(20), send)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(receipt.block_number > 0);
    assert!(
        slow.pending().all().is_empty(),
        "original and replacement both forgotten once one is mined"
    );
    let _: serde_json::Value = p
        .raw_request("evm_setAutomine".into(), (true,))
        .await
        .unwrap();
    assert_eq!(
        c.atn_balance(cast.outsider).await.unwrap(),
        before + U256::from(5)
    );
}
