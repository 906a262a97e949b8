//! Enforcement: every action a role or an agent takes (train, verify, aggregate, serve
//! inference, delegate, spend) passes [`Enforcer::check`] before it runs.
//!
//! Two tiers, the rule tier first (cheap, exact):
//! - **rules** (each refusal names its rule): `undescribed` (an action must say what it does, the
//!   geometric tier reads it), `max_spend` (one action spends at most `limits.max_spend_atn`),
//!   `budget` (nor more than the budget its actor has left), `delegation_depth` (a delegation
//!   chain is at most `limits.max_delegation_depth` deep), `unbound_key` (no signing with a key
//!   that is not the address the node's PeerId is bound to on chain);
//! - **geometric**: the action's description is placed in charter space by the substrate's
//!   keyword embedder and projected on each tendency's polarity axis; a projection below the
//!   tendency's `floor` is refused as rule `charter.<tendency id>`, with how far below it fell.
//!
//! A refusal is also a `tracing` event (target `autonet::constitution`, level warn) with the
//! rule, the tier and the action kind, so logs and the agent layer see why.

use alloy::primitives::{Address, U256};
use autonet_models::substrate::charter::Charter;
use autonet_models::substrate::keyword::KeywordEmbedder;
use autonet_models::substrate::turn::TurnEmbedder;
use autonet_models::substrate::vector::{dot, normalized};

use super::document::{Constitution, ConstitutionError};

/// What an action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Train a slice of a task.
    Train,
    /// Verify (recompute and score) solutions.
    Verify,
    /// Merge accepted solutions into the next model.
    Aggregate,
    /// Answer an inference request.
    ServeInference,
    /// Hand a task to another agent.
    Delegate,
    /// Pay ATN (stake, payment, sponsorship), or spend an agent's model budget.
    Spend,
    /// Call a tool on an agent's behalf.
    UseTool,
    /// Send a message to another agent.
    Message,
}

/// An action about to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// What it is.
    pub kind: ActionKind,
    /// What it does, in words (the geometric tier reads this).
    pub description: String,
    /// ATN wei it spends.
    pub spend_wei: U256,
    /// The budget its actor has left, when it has one.
    pub budget_left_wei: Option<U256>,
    /// Delegation depth (0: the actor's own work).
    pub delegation_depth: u32,
    /// The key that signs it, when it signs anything.
    pub signer: Option<Address>,
    /// The address the node's PeerId is bound to on chain (`None`: not bound).
    pub bound_to: Option<Address>,
}

impl Action {
    /// An action of `kind` described by `description`, spending nothing, signing nothing.
    pub fn new(kind: ActionKind, description: impl Into<String>) -> Self {
        Action {
            kind,
            description: description.into(),
            spend_wei: U256::ZERO,
            budget_left_wei: None,
            delegation_depth: 0,
            signer: None,
            bound_to: None,
        }
    }
}

/// Which tier refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// An explicit rule.
    Rule,
    /// Charter-space distance.
    Geometric,
}

/// Why an action may not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("refused by the constitution (rule {rule}): {reason}")]
pub struct Refusal {
    /// The rule's name (`max_spend`, `charter.life_precious`, …).
    pub rule: String,
    /// Its tier.
    pub tier: Tier,
    /// Why, for people.
    pub reason: String,
}

const WEI_PER_ATN: u64 = 1_000_000_000_000_000_000;

static SHIPPED: std::sync::LazyLock<Result<Enforcer, ConstitutionError>> =
    std::sync::LazyLock::new(|| Constitution::shipped().and_then(Enforcer::new));

/// The enforcer of the shipped constitution, built once per process (roles and the node share
/// it).
pub fn shipped() -> Result<&'static Enforcer, ConstitutionError> {
    SHIPPED.as_ref().map_err(Clone::clone)
}

/// Checks `kind` described by `description` against the shipped constitution: `Ok` to run,
/// else the refusal (an unusable shipped constitution refuses everything, as rule
/// `constitution`).
pub fn permit(kind: ActionKind, description: impl Into<String>) -> Result<(), Refusal> {
    let enforcer = shipped().map_err(|e| Refusal {
        rule: "constitution".into(),
        tier: Tier::Rule,
        reason: e.to_string(),
    })?;
    enforcer.check(&Action::new(kind, description))
}

/// Checks actions against one constitution.
#[derive(Debug)]
pub struct Enforcer {
    constitution: Constitution,
    embedder: KeywordEmbedder,
    /// (tendency id, unit polarity axis, floor), in the constitution's order.
    axes: Vec<(String, Vec<f64>, f64)>,
    dim: usize,
}

impl Enforcer {
    /// An enforcer of `constitution`; each of its tendencies must be a root of the substrate's
    /// charter (that is where its axis comes from).
    pub fn new(constitution: Constitution) -> Result<Self, ConstitutionError> {
        let charter = Charter::v1();
        let axes = constitution
            .tendencies
            .iter()
            .map(|t| {
                let root = charter.roots.iter().find(|r| r.id == t.id).ok_or_else(|| {
                    ConstitutionError::Invalid(format!(
                        "tendency {} is not a root of the substrate charter",
                        t.id
                    ))
                })?;
                Ok((t.id.clone(), normalized(&root.polarity_axis), t.floor))
            })
            .collect::<Result<Vec<_>, ConstitutionError>>()?;
        let embedder = KeywordEmbedder::new()
            .map_err(|e| ConstitutionError::Invalid(format!("keyword embedder: {e}")))?;
        Ok(Enforcer {
            dim: charter.dim(),
            constitution,
            embedder,
            axes,
        })
    }

    /// The constitution enforced.
    pub fn constitution(&self) -> &Constitution {
        &self.constitution
    }

    /// Checks `action`; a refusal is also logged as a warn event naming the rule.
    pub fn check(&self, action: &Action) -> Result<(), Refusal> {
        let verdict = self.rules(action).and_then(|()| self.geometry(action));
        if let Err(r) = &verdict {
            tracing::warn!(
                target: "autonet::constitution",
                rule = %r.rule,
                tier = ?r.tier,
                kind = ?action.kind,
                "action refused: {}",
                r.reason
            );
        }
        verdict
    }

    /// The rule tier alone.
    pub fn rules(&self, a: &Action) -> Result<(), Refusal> {
        let refuse = |rule: &str, reason: String| {
            Err(Refusal {
                rule: rule.into(),
                tier: Tier::Rule,
                reason,
            })
        };
        let limits = &self.constitution.limits;
        if a.description.trim().is_empty() {
            return refuse("undescribed", "the action does not say what it does".into());
        }
        let max_spend = U256::from(limits.max_spend_atn) * U256::from(WEI_PER_ATN);
        if a.spend_wei > max_spend {
            return refuse(
                "max_spend",
                format!(
                    "it spends {} wei, more than the {} ATN one action may",
                    a.spend_wei, limits.max_spend_atn
                ),
            );
        }
        if let Some(left) = a.budget_left_wei
            && a.spend_wei > left
        {
            return refuse(
                "budget",
                format!(
                    "it spends {} wei with {left} wei of budget left",
                    a.spend_wei
                ),
            );
        }
        if a.delegation_depth > limits.max_delegation_depth {
            return refuse(
                "delegation_depth",
                format!(
                    "delegation depth {} is deeper than {}",
                    a.delegation_depth, limits.max_delegation_depth
                ),
            );
        }
        if let Some(signer) = a.signer
            && a.bound_to != Some(signer)
        {
            let bound = a.bound_to.map_or("no address".into(), |b| b.to_string());
            return refuse(
                "unbound_key",
                format!("it would sign with {signer}, but this node's PeerId is bound to {bound}"),
            );
        }
        Ok(())
    }

    /// The geometric tier alone: the worst shortfall below a tendency's floor, if any.
    pub fn geometry(&self, a: &Action) -> Result<(), Refusal> {
        let point = self.place(&a.description);
        let worst = self
            .axes
            .iter()
            .map(|(id, axis, floor)| (id, dot(&point, axis), *floor))
            .filter(|(_, p, floor)| p < floor)
            .max_by(|x, y| (x.2 - x.1).total_cmp(&(y.2 - y.1)));
        match worst {
            None => Ok(()),
            Some((id, p, floor)) => Err(Refusal {
                rule: format!("charter.{id}"),
                tier: Tier::Geometric,
                reason: format!(
                    "its description sits at {p:.2} on {id}, {:.2} below the floor {floor:.2}",
                    floor - p
                ),
            }),
        }
    }

    /// The description's point in charter space.
    pub fn place(&self, description: &str) -> Vec<f64> {
        let turn = serde_json::json!({ "content": description });
        self.embedder
            .embed(&turn, self.dim)
            .unwrap_or_else(|_| vec![0.0; self.dim])
    }
}
