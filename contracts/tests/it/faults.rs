//! RPC faults on anvil: a node SIGKILLed mid-run and restarted from its state file, a node that
//! stays down, a client restarted with a transaction in flight, stuck transactions, and many
//! concurrent transactions from one key.

use std::path::Path;
use std::time::Duration;

use alloy::primitives::U256;
use alloy::providers::Provider;
use autonet_contracts::embedded::{EMBEDDED_CHAIN_ID, dev_key};
use autonet_contracts::pending::PendingStore;
use autonet_contracts::revert::ATNTokenErrors;
use autonet_contracts::{Backend, Chain, ChainError, DeployConfig, RpcChain, RpcConfig, deploy};
use tokio::task::JoinSet;

use crate::anvil::{Anvil, AnvilExt, fixture};

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
    assert!(c.backend().pending().in_flight().is_empty());
}

/// Sends a signal to anvil with `kill(1)` (the crate denies `unsafe`, so no libc here).
async fn signal(anvil: &Anvil, sig: &str) {
    let pid = anvil.child.id().expect("anvil is running");
    let status = tokio::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .await
        .unwrap();
    assert!(status.success(), "kill {sig} {pid}");
}

/// SIGKILLs anvil at once, while transactions are in flight. The process is frozen first
/// (SIGSTOP: nothing more is mined, no request is answered). Anvil rewrites its state file in
/// place (truncate, then write) every second, so a kill in the middle of a write would leave a
/// torn file it cannot load: while the frozen process holds an incomplete file it is let run a
/// little and frozen again; it is killed once the file holds a complete dump.
async fn sigkill_with_complete_state_file(anvil: &mut Anvil, state: &Path) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        signal(anvil, "-STOP").await;
        let complete = std::fs::read(state)
            .ok()
            .is_some_and(|b| serde_json::from_slice::<serde_json::Value>(&b).is_ok());
        if complete {
            break;
        }
        signal(anvil, "-CONT").await;
        assert!(
            tokio::time::Instant::now() < deadline,
            "anvil never left a complete state file"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    signal(anvil, "-KILL").await;
    tokio::time::timeout(Duration::from_secs(30), anvil.child.wait())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anvil_sigkilled_mid_run_loses_and_duplicates_nothing() {
    const WORKERS: u64 = 3;
    const EACH: u64 = 12;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("anvil-state.json");
    let mut anvil = Anvil::start(Some(&state), None).await;
    let port = anvil.port;
    let pending = PendingStore::open(&dir.path().join("state.redb")).unwrap();
    let chain = anvil.chain(pending).await;
    let accounts = chain.accounts();
    let c = deploy(chain, accounts[0], &DeployConfig::default())
        .await
        .unwrap();
    let (from, to) = (accounts[0], accounts[10]);
    let start_nonce = nonce(&anvil.url, from).await;
    // The state file must exist before the run (anvil writes it every second).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !state.exists() {
        assert!(tokio::time::Instant::now() < deadline, "no state file");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Three workers send twelve transfers each from one key, with distinct amounts. Once six
    // have landed the node is SIGKILLed with transactions in flight and restarted from its state
    // file, which is up to a second old: blocks (and receipts the workers already saw) are
    // forgotten, and the client must hand those transactions to the node again.
    let (landed_tx, mut landed_rx) = tokio::sync::mpsc::channel(64);
    let mut workers = JoinSet::new();
    for w in 0..WORKERS {
        let c = c.clone();
        let landed_tx = landed_tx.clone();
        workers.spawn(async move {
            for i in 0..EACH {
                c.transfer_atn(from, to, U256::from(1 + w * EACH + i))
                    .await?;
                let _ = landed_tx.send(()).await;
            }
            Ok::<_, ChainError>(())
        });
    }
    drop(landed_tx);
    for _ in 0..6 {
        landed_rx.recv().await.unwrap();
    }
    sigkill_with_complete_state_file(&mut anvil, &state).await;
    let seen_mined = c
        .backend()
        .pending()
        .all()
        .iter()
        .filter(|t| t.nonce >= start_nonce && t.mined_in.is_some())
        .count();
    let anvil = Anvil::start(Some(&state), Some(port)).await;
    let restored = nonce(&anvil.url, from).await;
    eprintln!(
        "the restarted node knows {} of our transactions; the client had seen {seen_mined} mined",
        restored.saturating_sub(start_nonce),
    );
    while let Some(r) = tokio::time::timeout(Duration::from_secs(120), workers.join_next())
        .await
        .unwrap()
    {
        r.unwrap().unwrap();
    }

    let n = WORKERS * EACH;
    assert_eq!(
        c.atn_balance(to).await.unwrap(),
        U256::from(n * (n + 1) / 2),
        "every transfer landed exactly once"
    );
    assert_eq!(nonce(&anvil.url, from).await, start_nonce + n);
    assert!(c.backend().pending().in_flight().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_left_in_the_store_by_a_stopped_client_lands_once_after_restart() {
    let anvil = Anvil::start(None, None).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let p = alloy::providers::ProviderBuilder::new().connect_http(anvil.url.parse().unwrap());
    let key = dev_key(0);
    anvil.fund(&[key.address()]).await.unwrap();
    let to = dev_key(11).address();
    let start_nonce = nonce(&anvil.url, key.address()).await;
    let before = p.get_balance(to).await.unwrap();
    let cfg = RpcConfig {
        expected_chain_id: Some(EMBEDDED_CHAIN_ID),
        give_up_after: Duration::from_millis(500),
        replace_after: Duration::from_secs(600),
        ..Default::default()
    };

    // The node stops mining: the client signs, stores and broadcasts, then gives up waiting.
    let _: serde_json::Value = p
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    let first = RpcChain::connect(
        &anvil.url,
        vec![key.clone()],
        PendingStore::open(&path).unwrap(),
        cfg.clone(),
    )
    .await
    .unwrap();
    let value = U256::from(7u64);
    let err = first
        .send(autonet_contracts::TxRequest {
            from: key.address(),
            to: Some(to),
            value,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChainError::Transport(m) if m.contains("kept for resubmission")),
        "{err}"
    );
    drop(first);

    // A new client on the same store resubmits it on connect and waits until it is mined.
    let resumed = tokio::spawn({
        let url = anvil.url.clone();
        let cfg = cfg.clone();
        async move {
            let pending = PendingStore::open(&path).unwrap();
            assert_eq!(pending.in_flight().len(), 1, "the transaction was kept");
            RpcChain::connect(&url, vec![key], pending, cfg).await
        }
    });
    let _: serde_json::Value = p
        .raw_request("evm_setAutomine".into(), (true,))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !resumed.is_finished() {
        assert!(tokio::time::Instant::now() < deadline, "never resumed");
        let _: serde_json::Value = p
            .raw_request("anvil_mine".into(), (U256::from(1),))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resumed = resumed.await.unwrap().unwrap();
    assert!(resumed.pending().in_flight().is_empty());
    assert_eq!(
        p.get_balance(to).await.unwrap(),
        before + value,
        "landed once"
    );
    assert_eq!(
        nonce(&anvil.url, dev_key(0).address()).await,
        start_nonce + 1
    );
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
    let path = dir.path().join("state.redb");
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
        mined_in: None,
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
    assert!(resumed.pending().in_flight().is_empty());
    assert_eq!(
        chain.native_balance(to).await.unwrap(),
        before + U256::from(10u64).pow(U256::from(18u64))
    );
    drop(resumed);
    let reopened = PendingStore::open(&path).unwrap();
    assert!(
        reopened.in_flight().is_empty(),
        "the store knows the transaction was mined"
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
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
    let receipt = tokio::time::timeout(Duration::from_secs(120), send)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(receipt.block_number > 0);
    assert!(
        slow.pending().in_flight().is_empty() && slow.pending().all().len() == 1,
        "the sibling of the mined version is forgotten"
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

/// A transaction that passed its gas estimate but reverted once mined (a transaction mined
/// before it in the same block spent what it needed) is reported with the contract's custom
/// error, like a revert at estimate time, so callers can tell "refused" from a failure. Here one
/// account sends its whole ATN balance twice into the same block: the second transfer reverts in
/// the block with `ERC20InsufficientBalance`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_reverted_in_its_block_is_named() {
    let (anvil, c, cast) = fixture().await;
    let p = alloy::providers::ProviderBuilder::new().connect_http(anvil.url.parse().unwrap());
    let from = cast.outsider;
    let all = c.atn_balance(from).await.unwrap();
    let before_nonce = nonce(&anvil.url, from).await;
    let _: serde_json::Value = p
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    let mut sends = JoinSet::new();
    for _ in 0..2 {
        let c = c.clone();
        let to = cast.deployer;
        sends.spawn(async move { c.transfer_atn(from, to, all).await });
    }
    // Both are estimated against the same state and handed to the node (the node's pending
    // nonce counts both: a transfer only registered with the client may not have been sent
    // yet, and one estimated after the block would be refused at estimate time); then one block.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let pending = p.get_transaction_count(from).pending().await.unwrap();
        if pending >= before_nonce + 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "both transfers never reached the node"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _: serde_json::Value = p
        .raw_request("anvil_mine".into(), (U256::from(1),))
        .await
        .unwrap();
    let mut outcomes = Vec::new();
    while let Some(r) = sends.join_next().await {
        outcomes.push(r.unwrap());
    }
    let _: serde_json::Value = p
        .raw_request("evm_setAutomine".into(), (true,))
        .await
        .unwrap();
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    let refused = outcomes.into_iter().find_map(Result::err).unwrap();
    assert!(
        matches!(
            refused.revert(),
            Some(ATNTokenErrors::ERC20InsufficientBalance(_))
        ),
        "the in-block revert is not decoded: {refused:?}"
    );
    assert_eq!(
        nonce(&anvil.url, from).await,
        before_nonce + 2,
        "both were mined"
    );
}
