//! Deploying the suite (genesis of the embedded chain, `autonet chain deploy` on RPC) and
//! discovering it from the Governor: `Governor.token()` → `RepToken.registryAddress()` →
//! `Registry.getRegistryValue(key)` for every other contract.

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::SolValue;

use crate::backend::{Backend, ChainError, TxRequest};
use crate::bindings::{
    self, ATNToken, AutonetGovernor, ParticipantStaking, Project, Registry, RepToken, TaskContract,
    Timelock,
};
use crate::client::{Contracts, Deployment};

/// 1 ATN (18 decimals).
pub const ATN: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// Deployment settings.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    /// ATN minted to the deployer at genesis.
    pub initial_supply: U256,
    /// Blocks between `requestUnstake` and `unstake`; the task contract refuses tasks whose
    /// phases last this long or longer.
    pub unbonding_blocks: u64,
    /// Timelock delay in seconds.
    pub timelock_delay: u64,
    /// Blocks between the openings of two epochs (bounds the emission over time).
    pub min_epoch_blocks: u64,
    /// The most ATN wei one epoch's mint root may pay.
    pub epoch_emission: U256,
}

impl Default for DeployConfig {
    fn default() -> Self {
        Self {
            initial_supply: ATN * U256::from(1_000_000_000u64),
            unbonding_blocks: 100,
            timelock_delay: 1,
            min_epoch_blocks: 4,
            epoch_emission: ATN * U256::from(100_000u64),
        }
    }
}

async fn create<B: Backend>(
    backend: &B,
    from: Address,
    name: &'static str,
    args: Bytes,
) -> Result<Address, ChainError> {
    let artifact = bindings::cached(name)?;
    let mut code = artifact.bytecode.to_vec();
    code.extend_from_slice(&args);
    let receipt = backend
        .send(TxRequest {
            from,
            to: None,
            data: code.into(),
            value: U256::ZERO,
        })
        .await?;
    receipt
        .contract_address
        .ok_or_else(|| ChainError::Deploy(format!("{name}: no contract address in receipt")))
}

/// Deploys and wires the whole suite from `deployer`, which stays owner of the governance
/// setters (hand them to the Timelock through governance in production).
pub async fn deploy<B: Backend>(
    backend: B,
    deployer: Address,
    cfg: &DeployConfig,
) -> Result<Contracts<B>, ChainError> {
    let d = create_suite(&backend, deployer, cfg).await?;
    let c = Contracts::new(backend, d);
    wire(&c, deployer).await?;
    register(&c, deployer).await?;
    Ok(c)
}

/// The governance layer (ATN, REP, Timelock, Governor, Registry), then the protocol contracts,
/// each constructed with the addresses it depends on.
async fn create_suite<B: Backend>(
    b: &B,
    deployer: Address,
    cfg: &DeployConfig,
) -> Result<Deployment, ChainError> {
    let atn = create(
        b,
        deployer,
        "ATNToken",
        (deployer, cfg.initial_supply).abi_encode_params().into(),
    )
    .await?;
    let rep = create(
        b,
        deployer,
        "RepToken",
        (deployer,).abi_encode_params().into(),
    )
    .await?;
    let timelock = create(
        b,
        deployer,
        "Timelock",
        (
            U256::from(cfg.timelock_delay),
            Vec::<Address>::new(),
            vec![Address::ZERO],
            deployer,
        )
            .abi_encode_params()
            .into(),
    )
    .await?;
    let governor = create(
        b,
        deployer,
        "AutonetGovernor",
        (rep, timelock).abi_encode_params().into(),
    )
    .await?;
    let registry = create(
        b,
        deployer,
        "Registry",
        // The deployer owns the address map (wired below); only the Timelock writes the
        // governed bytes32 values (fingerprints, the constitution, parameters).
        (deployer, timelock).abi_encode_params().into(),
    )
    .await?;
    let governance = Deployment {
        atn,
        rep,
        timelock,
        governor,
        registry,
        ..Default::default()
    };
    create_protocol(b, deployer, cfg, governance).await
}

/// The protocol contracts on top of `d`'s governance layer (staking, projects, tasks, rewards,
/// the PeerId binding registry, the model shard registry); returns `d` completed.
async fn create_protocol<B: Backend>(
    b: &B,
    deployer: Address,
    cfg: &DeployConfig,
    mut d: Deployment,
) -> Result<Deployment, ChainError> {
    let atn = d.atn;
    d.staking = create(
        b,
        deployer,
        "ParticipantStaking",
        (atn, deployer, U256::from(cfg.unbonding_blocks))
            .abi_encode_params()
            .into(),
    )
    .await?;
    d.project = create(
        b,
        deployer,
        "Project",
        (atn, deployer).abi_encode_params().into(),
    )
    .await?;
    d.task = create(
        b,
        deployer,
        "TaskContract",
        (
            d.staking,
            d.project,
            deployer,
            U256::from(cfg.min_epoch_blocks),
        )
            .abi_encode_params()
            .into(),
    )
    .await?;
    d.rewards = create(
        b,
        deployer,
        "ResultsRewards",
        (atn, d.staking, d.task, d.project, cfg.epoch_emission)
            .abi_encode_params()
            .into(),
    )
    .await?;
    d.rpb = create(
        b,
        deployer,
        "RPB",
        (atn, d.timelock).abi_encode_params().into(),
    )
    .await?;
    d.shards = create(
        b,
        deployer,
        "ModelShardRegistry",
        (d.staking, d.rewards, d.project).abi_encode_params().into(),
    )
    .await?;
    Ok(d)
}

/// Points the contracts at each other: the slasher and task contract of staking, the project's
/// task and rewards contracts, the task contract's rewards, the minter of ATN, REP's registry.
async fn wire<B: Backend>(c: &Contracts<B>, deployer: Address) -> Result<(), ChainError> {
    let d = c.addresses;
    c.send(
        deployer,
        d.staking,
        ParticipantStaking::setSlasherCall {
            slasher_: d.rewards,
        },
    )
    .await?;
    c.send(
        deployer,
        d.staking,
        ParticipantStaking::setTaskContractCall {
            taskContract_: d.task,
        },
    )
    .await?;
    c.send(
        deployer,
        d.project,
        Project::wireCall {
            taskContract_: d.task,
            rewards_: d.rewards,
        },
    )
    .await?;
    c.send(
        deployer,
        d.task,
        TaskContract::setRewardsCall {
            rewards_: d.rewards,
        },
    )
    .await?;
    c.send(
        deployer,
        d.atn,
        ATNToken::setAuthorizedMinterCall {
            minter: d.rewards,
            allowed: true,
        },
    )
    .await?;
    c.send(
        deployer,
        d.rep,
        RepToken::setRegistryAddressCall {
            registry: d.registry,
        },
    )
    .await?;
    Ok(())
}

/// Records every address in the Registry (what [`discover`] reads) and lets the Governor
/// propose and cancel on the Timelock.
async fn register<B: Backend>(c: &Contracts<B>, deployer: Address) -> Result<(), ChainError> {
    let d = c.addresses;
    for (key, _, address) in d.entries() {
        c.send(
            deployer,
            d.registry,
            Registry::setRegistryValueCall {
                key: key.into(),
                value: address,
            },
        )
        .await?;
    }
    let timelock = d.timelock;
    let proposer_role = c.view(timelock, Timelock::PROPOSER_ROLECall {}).await?;
    let canceller_role = c.view(timelock, Timelock::CANCELLER_ROLECall {}).await?;
    for role in [proposer_role, canceller_role] {
        c.send(
            deployer,
            timelock,
            Timelock::grantRoleCall {
                role,
                account: d.governor,
            },
        )
        .await?;
    }
    Ok(())
}

/// Finds every address starting from the Governor.
pub async fn discover<B: Backend>(
    backend: B,
    governor: Address,
) -> Result<Contracts<B>, ChainError> {
    let probe = Contracts::new(
        backend,
        Deployment {
            governor,
            ..Default::default()
        },
    );
    let rep = probe.view(governor, AutonetGovernor::tokenCall {}).await?;
    let registry = probe.view(rep, RepToken::registryAddressCall {}).await?;
    let mut d = Deployment {
        governor,
        rep,
        registry,
        ..Default::default()
    };
    for (key, slot) in [
        ("atn.token", &mut d.atn),
        ("timelock", &mut d.timelock),
        ("staking", &mut d.staking),
        ("project", &mut d.project),
        ("task", &mut d.task),
        ("rewards", &mut d.rewards),
        ("rpb", &mut d.rpb),
        ("shards", &mut d.shards),
    ] {
        *slot = probe
            .view(registry, Registry::getRegistryValueCall { key: key.into() })
            .await?;
    }
    Ok(Contracts::new(probe.into_backend(), d))
}
