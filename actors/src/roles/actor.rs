//! The role actor: a ractor actor that steps its role once per tick against the current chain
//! head and reports to the block board, and at once when the gate files new gossip for it
//! ([`RoleMsg::Announced`], see [`super::inbox`]). A tick's step is skipped while the head has
//! not moved, nothing was announced and the last step was not waiting on the network. All state that
//! matters lives in the store; on a failure the supervisor restarts the actor, which resumes its
//! role from the store.

use std::sync::Arc;
use std::time::Duration;

use autonet_contracts::{ProtocolView, Role};
use ractor::{Actor, ActorProcessingErr, ActorRef};
use tracing::Instrument;

use super::RoleError;
use super::aggregator::Aggregator;
use super::coordinator::Coordinator;
use super::ctx::Ctx;
use super::proposer::Proposer;
use super::solver::Solver;

/// One of the four staked roles.
#[derive(Debug)]
pub enum AnyRole<C> {
    /// The proposer: creates the epoch's task and reveals its ground truth.
    Proposer(Proposer<C>),
    /// A solver: trains its slice, commits and reveals the bundle.
    Solver(Solver<C>),
    /// A coordinator: verifies revealed bundles, votes, settles and confirms mint roots.
    Coordinator(Coordinator<C>),
    /// An aggregator: merges accepted bundles, posts the mint root and publishes the model.
    Aggregator(Aggregator<C>),
}

impl<C: ProtocolView + 'static> AnyRole<C> {
    /// Builds the role from its stored state.
    pub async fn resume(role: Role, ctx: Arc<Ctx<C>>) -> Result<Self, RoleError> {
        Ok(match role {
            Role::Proposer => AnyRole::Proposer(Proposer::resume(ctx).await?),
            Role::Solver => AnyRole::Solver(Solver::resume(ctx).await?),
            Role::Coordinator => AnyRole::Coordinator(Coordinator::resume(ctx).await?),
            Role::Aggregator => AnyRole::Aggregator(Aggregator::resume(ctx).await?),
        })
    }

    fn ctx(&self) -> &Ctx<C> {
        match self {
            AnyRole::Proposer(r) => r.ctx(),
            AnyRole::Solver(r) => r.ctx(),
            AnyRole::Coordinator(r) => r.ctx(),
            AnyRole::Aggregator(r) => r.ctx(),
        }
    }

    /// One step at `head`; true while waiting on the network.
    pub async fn step(&mut self, head: u64) -> Result<bool, RoleError> {
        match self {
            AnyRole::Proposer(r) => r.step(head).await,
            AnyRole::Solver(r) => r.step(head).await,
            AnyRole::Coordinator(r) => r.step(head).await,
            AnyRole::Aggregator(r) => r.step(head).await,
        }
    }
}

/// Messages of a role actor.
#[derive(Debug)]
pub enum RoleMsg {
    /// Look at the chain head and act.
    Tick,
    /// The gate filed new gossip in the inbox: act on it without waiting for the next tick.
    Announced,
}

/// What a role actor starts from.
#[derive(Debug)]
pub struct RoleArgs<C> {
    /// Which role the actor runs.
    pub role: Role,
    /// The peer's shared role context.
    pub ctx: Arc<Ctx<C>>,
    /// Pause between the end of one step and the next tick.
    pub tick: Duration,
}

impl<C> Clone for RoleArgs<C> {
    fn clone(&self) -> Self {
        RoleArgs {
            role: self.role,
            ctx: self.ctx.clone(),
            tick: self.tick,
        }
    }
}

/// The role actor.
#[derive(Debug)]
pub struct RoleActor<C>(std::marker::PhantomData<fn() -> C>);

impl<C> Default for RoleActor<C> {
    fn default() -> Self {
        RoleActor(std::marker::PhantomData)
    }
}

/// The role actor's state.
#[derive(Debug)]
pub struct RoleState<C> {
    role: AnyRole<C>,
    tick: Duration,
    /// The role span (run, peer, role) its steps and protocol events run in.
    span: tracing::Span,
    /// The head of the last step that was not waiting: until it moves, or gossip is announced,
    /// there is nothing new to act on and the tick's step is skipped.
    idle_at: Option<u64>,
}

impl<C: ProtocolView + 'static> Actor for RoleActor<C> {
    type Msg = RoleMsg;
    type State = RoleState<C>;
    type Arguments = RoleArgs<C>;

    async fn pre_start(
        &self,
        myself: ActorRef<RoleMsg>,
        args: RoleArgs<C>,
    ) -> Result<RoleState<C>, ActorProcessingErr> {
        args.ctx.board.join(&args.ctx.name);
        let span = super::events::role_span(args.ctx.run, &args.ctx.name, args.role);
        let role = AnyRole::resume(args.role, args.ctx.clone())
            .instrument(span.clone())
            .await?;
        args.ctx.inbox.join(myself.get_cell());
        myself.send_after(args.tick, || RoleMsg::Tick);
        Ok(RoleState {
            role,
            tick: args.tick,
            span,
            idle_at: None,
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<RoleMsg>,
        state: &mut RoleState<C>,
    ) -> Result<(), ActorProcessingErr> {
        let ctx = state.role.ctx();
        ctx.board.leave(&ctx.name);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<RoleMsg>,
        message: RoleMsg,
        state: &mut RoleState<C>,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RoleMsg::Tick => {
                step(state).await?;
                // The next tick is due a tick after this step ends, never queued behind a
                // long step (a timer at a fixed rate would pile ticks up in the mailbox).
                myself.send_after(state.tick, || RoleMsg::Tick);
            }
            // A step is due anyway when the last one was waiting: a burst of announcements
            // costs one extra step, not one each.
            RoleMsg::Announced if state.idle_at.is_some() => {
                state.idle_at = None;
                step(state).await?;
            }
            RoleMsg::Announced => {}
        }
        Ok(())
    }
}

/// Steps the role at the current head unless nothing moved since its last idle step.
async fn step<C: ProtocolView + 'static>(state: &mut RoleState<C>) -> Result<(), RoleError> {
    let head = state.role.ctx().chain.block_number().await?;
    if state.idle_at != Some(head) {
        let span = state.span.clone();
        let waiting = state.role.step(head).instrument(span).await?;
        let ctx = state.role.ctx();
        ctx.board.report(&ctx.name, head, waiting);
        state.idle_at = (!waiting).then_some(head);
    }
    Ok(())
}
