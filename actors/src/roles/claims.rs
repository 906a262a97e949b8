//! Claims every paid role makes: consensus rewards credited at finalisation (pull payments) and
//! epoch mint amounts once an epoch's mint root is final.

use alloy::primitives::U256;
use autonet_contracts::Atn;
use autonet_contracts::ProtocolView;
use autonet_contracts::revert::ResultsRewardsErrors;

use super::RoleError;
use super::ctx::Ctx;
use super::events::{self, Phase};
use super::fetch::ContentKind;
use crate::protocol::mint::MintList;
use crate::protocol::wire::{MAX_SPEC_BYTES, decode};

/// Withdraws credited rewards, if any.
pub async fn claim_rewards<C: ProtocolView + 'static>(ctx: &Ctx<C>) -> Result<(), RoleError> {
    let due = ctx.chain.claimable(ctx.address).await?;
    if due.is_zero() {
        return Ok(());
    }
    match ctx.chain.claim(ctx.address).await {
        Ok(_) => {
            events::emit(Phase::Claim, 0, format!("claimed {} of rewards", Atn(due)));
            Ok(())
        }
        Err(e) if matches!(e.revert(), Some(ResultsRewardsErrors::NothingToClaim(_))) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Claims this address's mint for every epoch whose root is final, in order, from the mint
/// list of the announcement that matches the final root (rogue announcements never match).
/// Returns true while that mint list cannot be fetched yet.
pub async fn claim_mints<C: ProtocolView + 'static>(ctx: &Ctx<C>) -> Result<bool, RoleError> {
    let key = "mint.next_epoch";
    let mut epoch: u64 = ctx.load(key)?.unwrap_or(1);
    loop {
        let root = ctx.chain.final_mint_root(U256::from(epoch)).await?;
        if root.is_zero() {
            return Ok(false);
        }
        let Some(a) = ctx
            .inbox
            .models(epoch)?
            .into_iter()
            .find(|a| a.mint_root == root.0)
        else {
            return Ok(false);
        };
        let Some(bytes) = ctx.content(a.mint_list_id, ContentKind::MintList)? else {
            return Ok(true);
        };
        let list: MintList = decode("mint list", &bytes, MAX_SPEC_BYTES)?;
        if list.root() == root
            && let Some((amount, proof)) = list.proof_for(ctx.address)
        {
            match ctx
                .chain
                .claim_mint(ctx.address, U256::from(epoch), amount, proof)
                .await
            {
                Ok(_) => events::emit(Phase::Mint, epoch, format!("claimed mint {}", Atn(amount))),
                Err(e) if matches!(e.revert(), Some(ResultsRewardsErrors::AlreadyClaimed(_))) => {}
                Err(e) => return Err(e.into()),
            }
        }
        epoch += 1;
        ctx.save(key, &epoch)?;
    }
}
