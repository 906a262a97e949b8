//! The command's flags (and the `AUTONET_*` variables clap read into them) laid over the file.
//!
//! A flag that was given replaces the file's value; one that was not leaves it. Settings are
//! flags of several commands (`--rpc-url` of `join`, `stake`, `chain info`, ...), and each of
//! them lands on the same key.

use std::path::PathBuf;

use super::{Config, NetConfig};
use crate::chain::{ChainAction, KeyAction, KeyOpts, RoleArgs, RpcArgs};
use crate::cli::Command;
use crate::jepa::JepaArgs;
use crate::overlay::NodeArgs;

/// Lays `command`'s flags over `config` and fills in the command's listen default.
pub(super) fn apply(config: &mut Config, command: &Command) {
    let listen_default = match command {
        Command::Bootstrap(_) => NetConfig::bootstrap_listen(),
        _ => NetConfig::join_listen(),
    };
    match command {
        Command::Bootstrap(args) => {
            set(&mut config.network.listen, &args.listen);
            node(config, &args.node);
        }
        Command::Join(args) => {
            let net = &mut config.network;
            set(&mut net.listen, &args.listen);
            set(&mut net.bootstrap, &args.bootstrap);
            set(&mut net.dht_mode, &args.dht_mode);
            node(config, &args.node);
            let (r, flags) = (&mut config.role, &args.role);
            set_opt(&mut r.role, &flags.role);
            set_opt(&mut r.name, &flags.name);
            set_opt(&mut r.plan, &flags.plan);
            set(&mut r.tick_ms, &flags.tick_ms);
            r.allow_unverified |= flags.allow_unverified;
            let c = &mut config.chain;
            set_opt(&mut c.rpc_url, &flags.rpc_url);
            set_opt(&mut c.chain_id, &flags.chain_id);
            set_opt(&mut c.password_file, &flags.password_file);
        }
        Command::Infer(args) => jepa(config, &args.jepa),
        Command::Key(args) => match &args.action {
            KeyAction::Create(opts) | KeyAction::Show(opts) | KeyAction::Import { opts, .. } => {
                key(config, opts);
            }
        },
        Command::Chain(args) => match &args.action {
            ChainAction::Deploy { rpc, password_file } => {
                self::rpc(config, rpc);
                set_opt(&mut config.chain.password_file, password_file);
            }
            ChainAction::Info { rpc, governor } => {
                self::rpc(config, rpc);
                set_opt(&mut config.chain.governor, governor);
            }
        },
        Command::Gov(args) => {
            let (rpc, governor, key) = args.chain_flags();
            self::rpc(config, rpc);
            set_opt(&mut config.chain.governor, &governor);
            if let Some(opts) = key {
                self::key(config, opts);
            }
        }
        Command::Integrity(args) => {
            self::rpc(config, &args.rpc);
            set_opt(&mut config.chain.governor, &args.governor);
        }
        Command::Stake(args) => role_args(config, &args.role),
        Command::Unstake(args) | Command::Claim(args) | Command::Balance(args) => {
            role_args(config, args);
        }
        _ => {}
    }
    if config.network.listen.is_empty() {
        config.network.listen = listen_default;
    }
}

fn node(config: &mut Config, args: &NodeArgs) {
    let net = &mut config.network;
    set(&mut net.status, &args.status);
    set_opt(&mut net.metrics, &args.metrics);
    set(&mut net.target_peers, &args.target_peers);
    set(&mut net.summary_secs, &args.summary_secs);
    set(&mut net.external_addrs, &args.external_addrs);
    set(&mut net.bootstrap_timeout_secs, &args.bootstrap_timeout);
    set(&mut config.shards.quota_gib, &args.shard_quota_gib);
    set_opt(&mut config.inference.model, &args.inference);
    jepa(config, &args.jepa);
}

fn jepa(config: &mut Config, args: &JepaArgs) {
    let inf = &mut config.inference;
    set(&mut inf.device, &args.device);
    set(&mut inf.graphs, &args.graphs);
    set(&mut inf.train_steps, &args.train_steps);
    set(&mut inf.decoder_steps, &args.decoder_steps);
}

fn rpc(config: &mut Config, args: &RpcArgs) {
    set_opt(&mut config.chain.rpc_url, &args.rpc_url);
    set_opt(&mut config.chain.chain_id, &args.chain_id);
}

fn key(config: &mut Config, opts: &KeyOpts) {
    set_opt::<PathBuf>(&mut config.chain.password_file, &opts.password_file);
}

fn role_args(config: &mut Config, args: &RoleArgs) {
    rpc(config, &args.rpc);
    set_opt(&mut config.chain.governor, &args.governor);
    set_opt(&mut config.chain.password_file, &args.password_file);
}

/// A given flag replaces the setting.
fn set<T: Clone>(slot: &mut T, flag: &Option<T>) {
    if let Some(v) = flag {
        *slot = v.clone();
    }
}

/// A given flag replaces an optional setting; an absent one leaves it (set or not).
fn set_opt<T: Clone>(slot: &mut Option<T>, flag: &Option<T>) {
    if flag.is_some() {
        slot.clone_from(flag);
    }
}
