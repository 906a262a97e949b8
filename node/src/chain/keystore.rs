//! Encrypted EVM keystores, one per role, in `<data-dir>/keys/<role>.json` (Web3 Secret Storage:
//! scrypt + AES-128-CTR, the format geth and alloy read). Existing files are never overwritten.

use std::path::{Path, PathBuf};

use alloy::primitives::B256;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, bail};

/// Names a keystore can have: the four protocol roles and the deployer of `chain deploy`.
pub const KEY_NAMES: [&str; 5] = [
    "deployer",
    "proposer",
    "solver",
    "coordinator",
    "aggregator",
];

/// Where the key for `name` lives.
pub fn key_path(data_dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    if !KEY_NAMES.contains(&name) {
        bail!(
            "unknown key name {name:?}: expected one of {}",
            KEY_NAMES.join(", ")
        );
    }
    Ok(data_dir.join("keys").join(format!("{name}.json")))
}

/// The keystore password: the first line of `password_file`, else `AUTONET_KEY_PASSWORD`.
pub fn password(password_file: Option<&Path>) -> anyhow::Result<String> {
    if let Some(file) = password_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read password file {}", file.display()))?;
        let line = text.lines().next().unwrap_or_default().to_owned();
        if line.is_empty() {
            bail!("password file {} is empty", file.display());
        }
        return Ok(line);
    }
    match std::env::var("AUTONET_KEY_PASSWORD") {
        Ok(p) if !p.is_empty() => Ok(p),
        _ => bail!("no keystore password: pass --password-file FILE or set AUTONET_KEY_PASSWORD"),
    }
}

fn write_new(path: &Path, key: &PrivateKeySigner, password: &str) -> anyhow::Result<()> {
    if path.exists() {
        bail!(
            "{} already exists; refusing to overwrite a key",
            path.display()
        );
    }
    let dir = path.parent().context("key path has no parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("bad key file name")?;
    PrivateKeySigner::encrypt_keystore(
        dir,
        &mut rand08::thread_rng(),
        key.to_bytes(),
        password,
        Some(name),
    )
    .with_context(|| format!("cannot write keystore {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Creates a new random key; fails if one exists.
pub fn create(path: &Path, password: &str) -> anyhow::Result<PrivateKeySigner> {
    let key = PrivateKeySigner::random();
    write_new(path, &key, password)?;
    Ok(key)
}

/// Imports a hex private key (optionally `0x`-prefixed) read from `key_file`.
pub fn import(path: &Path, key_file: &Path, password: &str) -> anyhow::Result<PrivateKeySigner> {
    let text = std::fs::read_to_string(key_file)
        .with_context(|| format!("cannot read private key file {}", key_file.display()))?;
    let bytes: B256 = text.trim().parse().with_context(|| {
        format!(
            "{} does not hold a 32-byte hex private key",
            key_file.display()
        )
    })?;
    let key = PrivateKeySigner::from_bytes(&bytes).context("not a valid secp256k1 private key")?;
    write_new(path, &key, password)?;
    Ok(key)
}

/// Stores a given key (`autonet testnet setup` hands each dev peer its account); fails if a
/// keystore exists at `path`.
pub fn store(path: &Path, key: &PrivateKeySigner, password: &str) -> anyhow::Result<()> {
    write_new(path, key, password)
}

/// Decrypts the key at `path`.
pub fn load(path: &Path, password: &str) -> anyhow::Result<PrivateKeySigner> {
    if !path.exists() {
        bail!(
            "no key at {}: create one with `autonet key create`",
            path.display()
        );
    }
    PrivateKeySigner::decrypt_keystore(path, password).with_context(|| {
        format!(
            "cannot decrypt {} (wrong password or corrupt file)",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_load_import_and_refuse_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_path(dir.path(), "solver").unwrap();
        let key = create(&path, "pw").unwrap();
        assert_eq!(load(&path, "pw").unwrap().address(), key.address());
        assert!(load(&path, "wrong").is_err());
        assert!(create(&path, "pw").is_err(), "never overwrites");
        let hex_file = dir.path().join("pk.txt");
        std::fs::write(
            &hex_file,
            format!("0x{}\n", alloy::hex::encode(key.to_bytes())),
        )
        .unwrap();
        let other = key_path(dir.path(), "coordinator").unwrap();
        assert_eq!(
            import(&other, &hex_file, "pw2").unwrap().address(),
            key.address()
        );
        std::fs::write(&hex_file, "not hex").unwrap();
        assert!(
            import(
                &key_path(dir.path(), "aggregator").unwrap(),
                &hex_file,
                "pw"
            )
            .is_err()
        );
        assert!(key_path(dir.path(), "../evil").is_err());
    }
}
