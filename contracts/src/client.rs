//! `Contracts<B>`: the deployed suite on a backend, with typed call helpers and a record of which
//! ABI functions were invoked (the ABI-coverage test reads it).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use alloy::primitives::{Address, Selector, U256};
use alloy::sol_types::SolCall;

use crate::backend::{Backend, ChainError, Receipt, TxRequest};

/// Addresses of the deployed suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Deployment {
    /// ATN token.
    pub atn: Address,
    /// REP token (Governor's votes).
    pub rep: Address,
    /// Timelock.
    pub timelock: Address,
    /// Governor: the discovery root.
    pub governor: Address,
    /// Key → address registry.
    pub registry: Address,
    /// Role stakes.
    pub staking: Address,
    /// Projects.
    pub project: Address,
    /// Tasks.
    pub task: Address,
    /// Votes, rewards, mint roots.
    pub rewards: Address,
    /// Agent registry.
    pub rpb: Address,
    /// Model shard registry.
    pub shards: Address,
}

impl Deployment {
    /// `(registry key, contract name, address)` for every contract.
    pub fn entries(&self) -> [(&'static str, &'static str, Address); 11] {
        [
            ("atn.token", "ATNToken", self.atn),
            ("rep.token", "RepToken", self.rep),
            ("timelock", "Timelock", self.timelock),
            ("governor", "AutonetGovernor", self.governor),
            ("registry", "Registry", self.registry),
            ("staking", "ParticipantStaking", self.staking),
            ("project", "Project", self.project),
            ("task", "TaskContract", self.task),
            ("rewards", "ResultsRewards", self.rewards),
            ("rpb", "RPB", self.rpb),
            ("shards", "ModelShardRegistry", self.shards),
        ]
    }

    /// The contract name deployed at `address`.
    pub fn name_of(&self, address: Address) -> Option<&'static str> {
        self.entries()
            .into_iter()
            .find(|(_, _, a)| *a == address)
            .map(|(_, n, _)| n)
    }
}

/// The suite on a backend.
#[derive(Debug, Clone)]
pub struct Contracts<B> {
    backend: B,
    /// Deployed addresses.
    pub addresses: Deployment,
    invoked: Arc<Mutex<BTreeSet<(Address, Selector)>>>,
    gas: Arc<Mutex<GasLog>>,
}

/// Gas used per (contract address, function selector), one entry per successful transaction.
type GasLog = BTreeMap<(Address, Selector), Vec<u64>>;

/// Gas used by one function over the transactions sent through a [`Contracts`] handle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GasRow {
    /// Contract name.
    pub contract: &'static str,
    /// Function name.
    pub function: String,
    /// Successful transactions measured.
    pub calls: usize,
    /// Smallest gas used.
    pub min: u64,
    /// Largest gas used.
    pub max: u64,
    /// Mean gas used (floor).
    pub mean: u64,
}

impl<B: Backend> Contracts<B> {
    /// Wraps an existing deployment.
    pub fn new(backend: B, addresses: Deployment) -> Self {
        Self {
            backend,
            addresses,
            invoked: Arc::default(),
            gas: Arc::default(),
        }
    }

    /// Gives the backend back.
    pub fn into_backend(self) -> B {
        self.backend
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// `(contract name, selector)` of every function invoked so far through this handle.
    pub fn invoked(&self) -> BTreeSet<(&'static str, Selector)> {
        let set = self.invoked.lock().map(|s| s.clone()).unwrap_or_default();
        set.into_iter()
            .filter_map(|(a, s)| self.addresses.name_of(a).map(|n| (n, s)))
            .collect()
    }

    /// Gas per function of every successful transaction sent so far, sorted by contract and name.
    pub fn gas_table(&self) -> Vec<GasRow> {
        let gas = self.gas.lock().map(|g| g.clone()).unwrap_or_default();
        let mut rows: Vec<GasRow> = gas
            .into_iter()
            .filter_map(|((address, selector), used)| {
                let contract = self.addresses.name_of(address)?;
                let function = crate::bindings::cached(contract)
                    .ok()?
                    .abi
                    .functions()
                    .find(|f| f.selector() == selector)?
                    .name
                    .clone();
                let calls = used.len();
                let sum: u64 = used.iter().sum();
                Some(GasRow {
                    contract,
                    function,
                    calls,
                    min: used.iter().copied().min().unwrap_or_default(),
                    max: used.iter().copied().max().unwrap_or_default(),
                    mean: sum / calls.max(1) as u64,
                })
            })
            .collect();
        rows.sort_by(|a, b| (a.contract, &a.function).cmp(&(b.contract, &b.function)));
        rows
    }

    fn record_gas(&self, to: Address, selector: Selector, receipt: &Result<Receipt, ChainError>) {
        if let (Ok(r), Ok(mut g)) = (receipt, self.gas.lock()) {
            g.entry((to, selector)).or_default().push(r.gas_used);
        }
    }

    fn record(&self, to: Address, selector: Selector) {
        if let Ok(mut s) = self.invoked.lock() {
            s.insert((to, selector));
        }
    }

    /// Sends `call` to `to` from `from` and waits for the receipt.
    pub async fn send<C: SolCall>(
        &self,
        from: Address,
        to: Address,
        call: C,
    ) -> Result<Receipt, ChainError> {
        self.send_value(from, to, call, U256::ZERO).await
    }

    /// Like [`Self::send`] with native value.
    pub async fn send_value<C: SolCall>(
        &self,
        from: Address,
        to: Address,
        call: C,
        value: U256,
    ) -> Result<Receipt, ChainError> {
        self.record(to, C::SELECTOR.into());
        let tx = TxRequest {
            from,
            to: Some(to),
            data: call.abi_encode().into(),
            value,
        };
        let r = self.backend.send(tx).await;
        self.record_gas(to, C::SELECTOR.into(), &r);
        r
    }

    /// Sends raw calldata (recorded under its first four bytes).
    pub async fn send_raw(
        &self,
        from: Address,
        to: Address,
        data: alloy::primitives::Bytes,
    ) -> Result<Receipt, ChainError> {
        let selector = (data.len() >= 4).then(|| Selector::from_slice(&data[..4]));
        if let Some(s) = selector {
            self.record(to, s);
        }
        let r = self
            .backend
            .send(TxRequest {
                from,
                to: Some(to),
                data,
                value: U256::ZERO,
            })
            .await;
        if let Some(s) = selector {
            self.record_gas(to, s, &r);
        }
        r
    }

    /// Runs raw calldata read-only as `from`.
    pub async fn call_raw(
        &self,
        from: Address,
        to: Address,
        data: alloy::primitives::Bytes,
    ) -> Result<alloy::primitives::Bytes, ChainError> {
        if data.len() >= 4 {
            self.record(to, Selector::from_slice(&data[..4]));
        }
        self.backend
            .call(TxRequest {
                from,
                to: Some(to),
                data,
                value: U256::ZERO,
            })
            .await
    }

    /// Runs `call` read-only and decodes its return value.
    pub async fn view<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return, ChainError> {
        let from = self.backend.accounts().first().copied().unwrap_or_default();
        self.view_as(from, to, call).await
    }

    /// Like [`Self::view`] but as `from` (for views that read `msg.sender`).
    pub async fn view_as<C: SolCall>(
        &self,
        from: Address,
        to: Address,
        call: C,
    ) -> Result<C::Return, ChainError> {
        self.record(to, C::SELECTOR.into());
        let out = self
            .backend
            .call(TxRequest {
                from,
                to: Some(to),
                data: call.abi_encode().into(),
                value: U256::ZERO,
            })
            .await?;
        C::abi_decode_returns(&out).map_err(|e| ChainError::Decode {
            what: C::SIGNATURE,
            reason: e.to_string(),
        })
    }
}
