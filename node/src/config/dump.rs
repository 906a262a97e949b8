//! `--dump-config`: the effective configuration as TOML (the file's shape, so it reads back
//! as the same configuration) or JSON.
//!
//! TOML has no null, so an unset optional setting (such as `network.metrics`) is written as a
//! comment line naming the key: the dump still lists every setting, and reading it back leaves
//! the key unset, as it was.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use serde::Serialize;

use super::{Config, ConfigError};

/// Output format of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpFormat {
    /// The config file's format.
    Toml,
    /// One JSON object (unset settings are `null`).
    Json,
}

impl Config {
    /// The configuration as TOML, in the same shape the file takes.
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        let mut out = String::new();
        let top = toml::Value::try_from(&self.data_dir).map_err(ser)?;
        let _ = writeln!(out, "data_dir = {top}");
        table(&mut out, "log", &self.log)?;
        // `limits` is written as its own table after the other keys of `[network]`.
        table_without(&mut out, "network", &self.network, &["limits"])?;
        table(&mut out, "network.limits", &self.network.limits)?;
        table(&mut out, "inference", &self.inference)?;
        table(&mut out, "role", &self.role)?;
        table(&mut out, "chain", &self.chain)?;
        table(&mut out, "shards", &self.shards)?;
        Ok(out)
    }

    /// The configuration as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, ConfigError> {
        serde_json::to_string_pretty(self)
            .map(|s| s + "\n")
            .map_err(ser)
    }

    /// Writes the configuration to `path`, or to stdout when `path` is `-`.
    pub fn dump(&self, path: &Path, format: DumpFormat) -> Result<(), ConfigError> {
        let text = match format {
            DumpFormat::Toml => self.to_toml()?,
            DumpFormat::Json => self.to_json()?,
        };
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

fn table<T: Serialize>(out: &mut String, name: &str, section: &T) -> Result<(), ConfigError> {
    table_without(out, name, section, &[])
}

/// Writes `[name]` and every key of `section` but those in `skip`, unset ones as comments.
fn table_without<T: Serialize>(
    out: &mut String,
    name: &str,
    section: &T,
    skip: &[&str],
) -> Result<(), ConfigError> {
    let serde_json::Value::Object(fields) = serde_json::to_value(section).map_err(ser)? else {
        return Err(ConfigError::Serialise(format!("[{name}] is not a table")));
    };
    let _ = writeln!(out, "\n[{name}]");
    // serde_json keeps keys sorted; the file's order does not matter to the reader.
    for (key, value) in fields {
        if skip.contains(&key.as_str()) {
            continue;
        }
        if value.is_null() {
            let _ = writeln!(out, "# {key} =  (not set)");
            continue;
        }
        let value = toml::Value::try_from(&value).map_err(ser)?;
        let _ = writeln!(out, "{key} = {value}");
    }
    Ok(())
}

fn ser(e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Serialise(e.to_string())
}
