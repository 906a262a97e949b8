//! The effective configuration of a node.
//!
//! Sources, highest precedence first: command-line flag, `AUTONET_*` environment variable (clap
//! reads both into [`GlobalArgs`]), the TOML file, the built-in default. The file is
//! `--config FILE` when given, else `<data-dir>/config.toml` when that exists. Unknown keys in the
//! file are an error, so a typo never silently falls back to a default.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cli::{GlobalArgs, LogFormat};

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
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `info,autonet_p2p=debug`.
    pub level: String,
}

/// The config file as written by a person: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    #[serde(default)]
    log: FileLogConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLogConfig {
    format: Option<LogFormat>,
    level: Option<String>,
}

/// Why a configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid log filter {filter:?}: {message}")]
    LogFilter { filter: String, message: String },
    #[error("cannot write config to {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "no data dir given and no home directory found; pass --data-dir or set AUTONET_DATA_DIR"
    )]
    NoHome,
}

impl Config {
    /// Merges flags and environment (already in `args`), the config file and the defaults.
    pub fn resolve(args: &GlobalArgs) -> Result<Self, ConfigError> {
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
        let config = Config {
            data_dir,
            log: LogConfig {
                format: args.log_format.or(file.log.format).unwrap_or_default(),
                level: args
                    .log_level
                    .clone()
                    .or(file.log.level)
                    .unwrap_or_else(|| "info".into()),
            },
        };
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
        Ok(())
    }

    /// The configuration as TOML, in the same shape the file takes.
    pub fn to_toml(&self) -> String {
        // Serialising plain strings, paths and enums cannot fail.
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot serialise config: {e}\n"))
    }

    /// Writes the configuration to `path`, or to stdout when `path` is `-`.
    pub fn dump(&self, path: &Path) -> Result<(), ConfigError> {
        let text = self.to_toml();
        if path == Path::new("-") {
            print!("{text}");
            return Ok(());
        }
        fs::write(path, text).map_err(|source| ConfigError::Write {
            path: path.into(),
            source,
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.into(),
        message: e.to_string(),
    })
}

/// `autonet` in the user's data directory: on Linux `$XDG_DATA_HOME/autonet` (when absolute),
/// else `~/.local/share/autonet`.
pub fn default_data_dir() -> Result<PathBuf, ConfigError> {
    dirs::data_dir()
        .map(|d| d.join("autonet"))
        .ok_or(ConfigError::NoHome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dir: &Path) -> GlobalArgs {
        GlobalArgs {
            data_dir: Some(dir.to_path_buf()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_apply_without_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::resolve(&args(dir.path())).unwrap();
        assert_eq!(c.log.level, "info");
        assert_eq!(c.log.format, LogFormat::Text);
        assert_eq!(c.data_dir, dir.path());
    }

    #[test]
    fn file_in_data_dir_is_read_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(CONFIG_FILE_NAME),
            "[log]\nlevel = \"debug\"\nformat = \"json\"\n",
        )
        .unwrap();
        let mut a = args(dir.path());
        let c = Config::resolve(&a).unwrap();
        assert_eq!(
            (c.log.level.as_str(), c.log.format),
            ("debug", LogFormat::Json)
        );
        a.log_level = Some("warn".into());
        assert_eq!(Config::resolve(&a).unwrap().log.level, "warn");
    }

    #[test]
    fn unknown_keys_and_bad_filters_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        fs::write(&path, "[log]\nlevle = \"debug\"\n").unwrap();
        let a = GlobalArgs {
            config: Some(path),
            ..args(dir.path())
        };
        let err = Config::resolve(&a).unwrap_err().to_string();
        assert!(err.contains("levle"), "{err}");
        let a = GlobalArgs {
            log_level: Some("info,=[".into()),
            ..args(dir.path())
        };
        assert!(matches!(
            Config::resolve(&a),
            Err(ConfigError::LogFilter { .. })
        ));
    }

    #[test]
    fn dumped_config_reads_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::resolve(&args(dir.path())).unwrap();
        let path = dir.path().join("dump.toml");
        c.dump(&path).unwrap();
        let a = GlobalArgs {
            config: Some(path),
            data_dir: None,
            ..Default::default()
        };
        assert_eq!(Config::resolve(&a).unwrap(), c);
    }
}
