//! The rules a delegation request must pass: built by the delegator ([`DelegationRequest::new`],
//! [`DelegationRequest::onward`]) and checked by the receiver ([`admit`]).

use serde_json::Value;

use super::{DelegationRequest, MAX_CHAIN, MAX_TASK_ID};
use crate::addr::{AgentAddr, is_agent_id};
use crate::lineage::{Lineage, LineageError, LineageProof};

/// The receiver's limits (reference §9.3 defaults: 20 children, 6 levels below).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelegationLimits {
    /// Open tasks one delegator may have with agents of this node at once.
    pub max_children: u32,
    /// The most levels of delegation a request may still allow (larger asks are refused).
    pub max_depth: u32,
}

impl Default for DelegationLimits {
    fn default() -> Self {
        Self {
            max_children: 20,
            max_depth: 6,
        }
    }
}

/// Why a delegation is refused (sent back as the task's failed result).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    /// No delegation levels left.
    #[error("delegation depth exhausted")]
    DepthExhausted,
    /// More levels asked than this node allows.
    #[error("delegation asks for {asked} more levels; this node allows {limit}")]
    TooDeep {
        /// Levels asked.
        asked: u32,
        /// The limit.
        limit: u32,
    },
    /// No token budget left.
    #[error("delegation budget exhausted (0 tokens)")]
    BudgetExhausted,
    /// The delegator has as many open tasks here as allowed.
    #[error("{delegator} already has {limit} open delegations here")]
    TooManyChildren {
        /// The delegator.
        delegator: String,
        /// The limit.
        limit: u32,
    },
    /// The receiver is already in the chain of delegators.
    #[error("delegation loop: {0} is already in the chain of delegators")]
    Loop(String),
    /// The delegator's lineage does not check.
    #[error("the delegator's lineage does not check: {0}")]
    Lineage(#[from] LineageError),
    /// A malformed request (bad task id, addresses or chain).
    #[error("malformed delegation: {0}")]
    Malformed(String),
    /// Asked for more budget than the delegator holds.
    #[error("cannot give {asked} tokens out of {held}")]
    OverBudget {
        /// Tokens asked for.
        asked: u64,
        /// Tokens held.
        held: u64,
    },
}

fn full(addr: &str) -> Result<AgentAddr, Refusal> {
    let bad = || Refusal::Malformed(format!("{:?} is not <peer-id>/<agent-id>", cut(addr)));
    let parsed: AgentAddr = addr.parse().map_err(|_| bad())?;
    parsed.peer.ok_or_else(bad)?;
    Ok(parsed)
}

fn cut(text: &str) -> String {
    text.chars().take(120).collect()
}

impl DelegationRequest {
    /// The first request of a chain, from `delegator` (a full address) with its lineage proof.
    pub fn new(
        task_id: &str,
        delegator: &AgentAddr,
        input: Value,
        depth_left: u32,
        budget_tokens: u64,
        lineage_proof: LineageProof,
    ) -> Result<Self, Refusal> {
        let request = Self {
            task_id: task_id.into(),
            delegator: delegator.to_string(),
            chain: vec![delegator.to_string()],
            input,
            depth_left,
            budget_tokens,
            lineage: lineage_proof.lineage()?.to_string(),
            lineage_proof,
        };
        request.check()?;
        Ok(request)
    }

    /// The request that `me` (the delegate of this one, a full address) sends onward for a
    /// sub-task: one level less, at most the budget it holds, itself appended to the chain.
    pub fn onward(
        &self,
        me: &AgentAddr,
        task_id: &str,
        input: Value,
        budget_tokens: u64,
        my_lineage: LineageProof,
    ) -> Result<Self, Refusal> {
        if budget_tokens > self.budget_tokens {
            return Err(Refusal::OverBudget {
                asked: budget_tokens,
                held: self.budget_tokens,
            });
        }
        let depth_left = self
            .depth_left
            .checked_sub(1)
            .ok_or(Refusal::DepthExhausted)?;
        let mut chain = self.chain.clone();
        chain.push(me.to_string());
        let request = Self {
            task_id: task_id.into(),
            delegator: me.to_string(),
            chain,
            input,
            depth_left,
            budget_tokens,
            lineage: my_lineage.lineage()?.to_string(),
            lineage_proof: my_lineage,
        };
        request.check()?;
        Ok(request)
    }

    /// Checks the request's form: task id, addresses, chain ending at the delegator, lineage.
    pub fn check(&self) -> Result<(), Refusal> {
        if self.task_id.len() > MAX_TASK_ID || !is_agent_id(&self.task_id) {
            let id = cut(&self.task_id);
            return Err(Refusal::Malformed(format!("task id {id:?}")));
        }
        full(&self.delegator)?;
        if self.chain.is_empty() || self.chain.len() > MAX_CHAIN {
            return Err(Refusal::Malformed(format!(
                "a chain of {} delegators (1 to {MAX_CHAIN})",
                self.chain.len()
            )));
        }
        for link in &self.chain {
            full(link)?;
        }
        if self.chain.last() != Some(&self.delegator) {
            return Err(Refusal::Malformed(
                "the chain does not end at the delegator".into(),
            ));
        }
        self.lineage_proof
            .verify(&Lineage::from_hex(&self.lineage)?)?;
        Ok(())
    }
}

/// Whether `receiver` (a full address) takes `request`, given how many open tasks its
/// delegator already has with agents of this node.
pub fn admit(
    request: &DelegationRequest,
    receiver: &AgentAddr,
    open_children: u32,
    limits: &DelegationLimits,
) -> Result<(), Refusal> {
    request.check()?;
    let me = receiver.to_string();
    if request.chain.contains(&me) {
        return Err(Refusal::Loop(me));
    }
    if request.depth_left == 0 {
        return Err(Refusal::DepthExhausted);
    }
    if request.depth_left > limits.max_depth {
        return Err(Refusal::TooDeep {
            asked: request.depth_left,
            limit: limits.max_depth,
        });
    }
    if request.budget_tokens == 0 {
        return Err(Refusal::BudgetExhausted);
    }
    if open_children >= limits.max_children {
        return Err(Refusal::TooManyChildren {
            delegator: request.delegator.clone(),
            limit: limits.max_children,
        });
    }
    Ok(())
}
