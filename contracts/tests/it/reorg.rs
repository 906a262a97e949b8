//! The event cursor across real reorgs on anvil (`anvil_reorg`: drop the newest blocks and mine
//! replacements holding other transactions): it waits for confirmations, a reorg shallower than
//! them never touches what it delivered, a deeper one is detected by block hash and re-read, and
//! the events a consumer ends up with are exactly the canonical ones.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use autonet_contracts::bindings::ATNToken;
use autonet_contracts::cursor::{Batch, EventCursor};
use autonet_contracts::embedded::{EMBEDDED_CHAIN_ID, dev_key};
use autonet_contracts::{Backend, Chain, ChainLog, RpcChain};

use crate::anvil::fixture;

/// What a consumer keeps: an event's identity and content.
type Seen = (u64, B256, u64, Vec<B256>, Bytes);

fn key_of(log: &ChainLog) -> Seen {
    (
        log.block_number,
        log.block_hash,
        log.log_index,
        log.log.topics().to_vec(),
        log.log.data.data.clone(),
    )
}

/// Applies a batch the way the cursor documents: void from `rewound_from`, then append.
fn apply(kept: &mut Vec<Seen>, batch: &Batch) {
    if let Some(from) = batch.rewound_from {
        kept.retain(|e| e.0 < from);
    }
    kept.extend(batch.events.iter().map(|e| key_of(&e.log)));
}

/// A signed ATN transfer from `key` with the nonce it has at block `at`.
async fn signed_transfer(
    chain: &RpcChain,
    atn: Address,
    key: &PrivateKeySigner,
    at: u64,
    to: Address,
    amount: u64,
) -> Bytes {
    let nonce = chain
        .provider()
        .get_transaction_count(key.address())
        .number(at)
        .await
        .unwrap();
    let mut tx = TxEip1559 {
        chain_id: EMBEDDED_CHAIN_ID,
        nonce,
        gas_limit: 200_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(atn),
        value: U256::ZERO,
        input: ATNToken::transferCall {
            to,
            value: U256::from(amount),
        }
        .abi_encode()
        .into(),
        access_list: Default::default(),
    };
    let sig = key.sign_transaction_sync(&mut tx).unwrap();
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
}

/// `anvil_reorg`: drops the newest `depth` blocks and mines `depth` new ones, `raw` going into
/// the first of them.
async fn reorg(chain: &RpcChain, depth: u64, raw: Bytes) {
    let _: serde_json::Value = chain
        .provider()
        .raw_request("anvil_reorg".into(), (depth, vec![(raw, 0u64)]))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_survives_shallow_and_deep_reorgs_without_losing_or_repeating_events() {
    let (_anvil, c, cast) = fixture().await;
    let chain = c.backend();
    let atn = c.addresses.atn;
    let side = dev_key(1); // the replacement transactions' sender
    let start = chain.block_number().await.unwrap() + 1;
    let mut cursor = EventCursor::new(c.addresses, start, 2);
    let mut kept: Vec<Seen> = Vec::new();

    // Confirmations: a transfer's events wait until two blocks are on top of it.
    c.transfer_atn(cast.deployer, cast.outsider, U256::from(1))
        .await
        .unwrap();
    let batch = cursor.poll(chain).await.unwrap();
    assert!(batch.events.is_empty(), "unconfirmed events wait");
    chain.mine(2).await.unwrap();
    let batch = cursor.poll(chain).await.unwrap();
    assert_eq!(batch.events.len(), 1, "the confirmed Transfer");
    assert!(!batch.reorged());
    apply(&mut kept, &batch);

    // A reorg shallower than the confirmations replaces a block the cursor has not read yet:
    // nothing delivered is touched, and the replaced transfer's event is never delivered.
    c.transfer_atn(cast.deployer, cast.outsider, U256::from(2))
        .await
        .unwrap();
    chain.mine(1).await.unwrap();
    assert!(cursor.poll(chain).await.unwrap().events.is_empty());
    let head = chain.block_number().await.unwrap();
    let raw = signed_transfer(chain, atn, &side, head - 2, cast.outsider, 3).await;
    reorg(chain, 2, raw).await;
    chain.mine(2).await.unwrap();
    let batch = cursor.poll(chain).await.unwrap();
    assert!(!batch.reorged(), "delivered blocks were not replaced");
    apply(&mut kept, &batch);
    let amounts =
        |kept: &[Seen]| -> Vec<U256> { kept.iter().map(|e| U256::from_be_slice(&e.4)).collect() };
    assert_eq!(amounts(&kept), vec![U256::from(1), U256::from(3)]);

    // A reorg deeper than the confirmations replaces delivered blocks (the one holding the
    // 3-unit transfer among them): the cursor sees the hash change, rewinds and re-reads.
    let head = chain.block_number().await.unwrap();
    let replaced_from = head - 3;
    let raw = signed_transfer(chain, atn, &side, replaced_from - 1, cast.outsider, 4).await;
    reorg(chain, 4, raw).await;
    chain.mine(2).await.unwrap();
    let batch = cursor.poll(chain).await.unwrap();
    let rewound = batch.rewound_from.expect("the reorg is detected");
    assert!(
        rewound <= replaced_from,
        "rewound from {rewound}, but blocks from {replaced_from} were replaced"
    );
    apply(&mut kept, &batch);

    // Exactly the canonical events up to the confirmed head, once each.
    let safe = chain.block_number().await.unwrap() - 2;
    assert_eq!(cursor.next_block, safe + 1);
    let canonical: Vec<Seen> = chain
        .logs(start, safe, &[atn])
        .await
        .unwrap()
        .iter()
        .map(key_of)
        .collect();
    assert_eq!(kept, canonical);
    assert_eq!(amounts(&kept), vec![U256::from(1), U256::from(4)]);
    assert!(
        cursor.poll(chain).await.unwrap().events.is_empty(),
        "nothing twice"
    );
}
