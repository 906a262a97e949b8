//! The peer's protocol secret (`<data-dir>/protocol_secret`, 64 hex characters, mode 0600): the
//! seed of its commit salts and, for a proposer, of its task draws. It never leaves the peer and
//! must survive restarts (a restarted solver reveals with the salt it committed with), so it is
//! written once and never replaced; an unreadable file is an error, not a new secret.

use std::path::Path;

use anyhow::{Context, bail};
use hex::FromHex;

/// File name inside the data dir.
pub const SECRET_FILE: &str = "protocol_secret";

/// Loads the secret, creating a random one if there is none.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    if let Some(s) = load(data_dir)? {
        return Ok(s);
    }
    let mut secret = [0u8; 32];
    rand08::RngCore::fill_bytes(&mut rand08::rngs::OsRng, &mut secret);
    write_new(data_dir, &secret)?;
    Ok(secret)
}

/// Loads the secret; `None` when the file does not exist.
pub fn load(data_dir: &Path) -> anyhow::Result<Option<[u8; 32]>> {
    let path = data_dir.join(SECRET_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        bail!(
            "{} is not 64 hex characters; it was left unchanged (restore it from a backup: \
             a new secret cannot reveal what the old one committed)",
            path.display()
        );
    }
    let out = <[u8; 32]>::from_hex(text)
        .with_context(|| format!("{} holds a non-hex character", path.display()))?;
    Ok(Some(out))
}

/// Writes a new secret file (mode 0600, atomically: a crash leaves no file or the whole one);
/// refuses to replace an existing one.
pub fn write_new(data_dir: &Path, secret: &[u8; 32]) -> anyhow::Result<()> {
    let path = data_dir.join(SECRET_FILE);
    crate::secret_file::write_new(&path, hex::encode(secret).as_bytes())
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_created_once_reused_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
        assert!(write_new(dir.path(), &[1; 32]).is_err());
        std::fs::write(dir.path().join(SECRET_FILE), "zz").unwrap();
        let err = load_or_create(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("left unchanged"), "{err:#}");
    }

    #[cfg(unix)]
    #[test]
    fn the_secret_is_private_in_a_private_dir() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        load_or_create(&data).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data.join(SECRET_FILE)), 0o600);
        assert_eq!(mode(&data), 0o700);
        assert_eq!(
            std::fs::read_dir(&data).unwrap().count(),
            1,
            "no temporary file left"
        );
    }
}
