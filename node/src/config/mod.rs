//! The effective configuration of a node.
//!
//! Sources, highest precedence first: command-line flag, `AUTONET_*` environment variable (clap
//! reads both into the parsed [`Cli`](crate::cli::Cli)), the TOML file, the built-in default. The
//! file is `--config FILE` when given, else `<data-dir>/config.toml` when that exists. Every
//! setting has a key in the file ([`Config`] is the file's shape: `data_dir` and the tables
//! `[log]`, `[network]`, `[network.limits]`, `[inference]`, `[role]`, `[chain]`); every key is
//! optional, unknown keys are an error (so a typo never silently falls back to a default), and a
//! bad value is an error naming its key. `--dump-config` prints the merged result in the same
//! shape ([`dump`]), so a dump read back as the file gives the same configuration.
//!
//! - [`sections`]: the tables and their defaults.
//! - [`flags`]: the command's flags laid over the file.
//! - [`dump`]: TOML and JSON output.

pub mod dump;
mod flags;
pub mod sections;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cli::{Command, GlobalArgs};
pub use sections::{
    ChainConfig, InferenceConfig, LimitsConfig, LogConfig, NetConfig, RoleConfig, ShardsConfig,
};

/// Name of the config file inside the data dir.
pub const CONFIG_FILE_NAME: &str = "config.toml";

/// The node's configuration after merging every source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the identity key, config file and state database live.
    pub data_dir: PathBuf,
    /// Logging.
    pub log: LogConfig,
    /// The overlay: listen addresses, bootstrap peers, DHT mode, peers, local endpoints, limits.
    pub network: NetConfig,
    /// The JEPA pipeline of an inference peer (`join --inference`) and of `autonet infer`.
    pub inference: InferenceConfig,
    /// The staked protocol role of `join --role`.
    pub role: RoleConfig,
    /// The EVM chain: endpoint, chain id, Governor, keystore password.
    pub chain: ChainConfig,
    /// The model shards the node holds.
    pub shards: ShardsConfig,
}

/// The config file as written by a person: every key optional (a missing table or key takes
/// its default).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    log: LogConfig,
    network: NetConfig,
    inference: InferenceConfig,
    role: RoleConfig,
    chain: ChainConfig,
    shards: ShardsConfig,
}

/// Why a configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file (given or found in the data dir) exists but could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error from reading it.
        source: std::io::Error,
    },
    /// The config file is not TOML of the expected shape (syntax error, unknown key, wrong type).
    #[error("config file {path} is not valid: {message}")]
    Parse {
        /// The config file.
        path: PathBuf,
        /// The TOML parser's message, with the line and key at fault.
        message: String,
    },
    /// A setting parsed but its value is out of range or inconsistent with another setting.
    #[error("config key {key}: {message}")]
    Invalid {
        /// The dotted config key at fault, e.g. `chain.chain_id`.
        key: &'static str,
        /// What is wrong with its value.
        message: String,
    },
    /// `log.level` / `--log-level` is not a valid `tracing` filter directive.
    #[error("invalid log filter {filter:?} (config key log.level): {message}")]
    LogFilter {
        /// The filter as given.
        filter: String,
        /// The filter parser's message.
        message: String,
    },
    /// `--dump-config=FILE` could not write FILE.
    #[error("cannot write config to {path}: {source}")]
    Write {
        /// The file given to `--dump-config`.
        path: PathBuf,
        /// The I/O error from writing it.
        source: std::io::Error,
    },
    /// The effective configuration could not be turned into TOML or JSON for `--dump-config`
    /// (a value TOML cannot hold, or a section that is not a table).
    #[error("cannot serialise the config: {0}")]
    Serialise(String),
    /// No data dir was given and neither `$XDG_DATA_HOME` nor a home directory gives a default.
    #[error(
        "no data dir given and no home directory found; pass --data-dir or set AUTONET_DATA_DIR"
    )]
    NoHome,
}

impl Config {
    /// Merges flags and environment (already in `args` and `command`), the config file and the
    /// defaults.
    pub fn resolve(args: &GlobalArgs, command: &Command) -> Result<Self, ConfigError> {
        let file_path = match &args.config {
            Some(path) => Some(path.clone()),
            None => {
                let dir = match &args.data_dir {
                    Some(d) => d.clone(),
                    None => default_data_dir()?,
                };
                let candidate = dir.join(CONFIG_FILE_NAME);
                candidate.is_file().then_some(candidate)
            }
        };
        let file = match &file_path {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = match (args.data_dir.clone(), file.data_dir) {
            (Some(d), _) | (None, Some(d)) => d,
            (None, None) => default_data_dir()?,
        };
        let mut config = Config {
            data_dir,
            log: file.log,
            network: file.network,
            inference: file.inference,
            role: file.role,
            chain: file.chain,
            shards: file.shards,
        };
        if let Some(format) = args.log_format {
            config.log.format = format;
        }
        if let Some(level) = log_level(args, std::env::var("RUST_LOG").ok()) {
            config.log.level = level;
        }
        if let Some(color) = args.color {
            config.log.color = color;
        }
        if let Some(file) = &args.log_file {
            config.log.file = Some(file.clone());
        }
        if let Some(rotation) = args.log_rotation {
            config.log.rotation = rotation;
        }
        if let Some(n) = args.log_max_files {
            config.log.max_files = n;
        }
        flags::apply(&mut config, command);
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        tracing_subscriber::EnvFilter::try_new(&self.log.level).map_err(|e| {
            ConfigError::LogFilter {
                filter: self.log.level.clone(),
                message: e.to_string(),
            }
        })?;
        self.log.validate()?;
        self.network.validate()?;
        self.inference.validate()?;
        self.role.validate()?;
        self.shards.validate()?;
        self.chain.validate()
    }
}

/// The log filter that overrides the file's: `--log-level` (or `AUTONET_LOG_LEVEL`), else a
/// non-empty `RUST_LOG`, the variable every Rust program's users reach for first.
fn log_level(args: &GlobalArgs, rust_log: Option<String>) -> Option<String> {
    args.log_level
        .clone()
        .or_else(|| rust_log.filter(|v| !v.trim().is_empty()))
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    parse_file(&text).map_err(|message| ConfigError::Parse {
        path: path.into(),
        message,
    })
}

/// Parses the file's text; a value error names the key's full path (`network.status: ...`),
/// which the TOML error alone does not (it shows only the line).
fn parse_file(text: &str) -> Result<FileConfig, String> {
    let de = toml::Deserializer::parse(text).map_err(|e| e.to_string())?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.message().trim().to_owned();
        let line = inner
            .span()
            .map(|span| format!(" (line {})", 1 + text[..span.start].matches('\n').count()))
            .unwrap_or_default();
        if path == "." {
            format!("{message}{line}")
        } else {
            format!("{path}: {message}{line}")
        }
    })
}

/// `autonet` in the user's data directory: on Linux `$XDG_DATA_HOME/autonet` (when absolute),
/// else `~/.local/share/autonet`.
pub fn default_data_dir() -> Result<PathBuf, ConfigError> {
    dirs::data_dir()
        .map(|d| d.join("autonet"))
        .ok_or(ConfigError::NoHome)
}
