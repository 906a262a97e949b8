//! Encrypted EVM keystores, one per role, in `<data-dir>/keys/<role>.json` (Web3 Secret Storage:
//! scrypt + AES-128-CTR, the format geth and alloy read). New keystores use geth's standard scrypt
//! cost; files are written atomically with mode 0600 in a 0700 directory and never overwritten;
//! a file whose key derivation parameters exceed sane bounds is refused before any derivation.

use std::path::{Path, PathBuf};

use alloy::primitives::B256;
use alloy::signers::local::PrivateKeySigner;
use std::io::IsTerminal;

use anyhow::{Context, bail};

/// Names a keystore can have: the four protocol roles and the deployer of `chain deploy`.
pub const KEY_NAMES: [&str; 5] = [
    "deployer",
    "proposer",
    "solver",
    "coordinator",
    "aggregator",
];

/// The keys a data dir can hold, as `--role` of `autonet key` takes them: the four staked
/// roles and the deployer of `chain deploy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KeyName {
    /// Deploys the contract suite (`autonet chain deploy`); stakes nothing.
    Deployer,
    /// The proposer role's key.
    Proposer,
    /// The solver role's key.
    Solver,
    /// The coordinator role's key.
    Coordinator,
    /// The aggregator role's key.
    Aggregator,
}

impl KeyName {
    /// Lower-case name, as on the command line and in keystore file names.
    pub fn name(self) -> &'static str {
        match self {
            KeyName::Deployer => "deployer",
            KeyName::Proposer => "proposer",
            KeyName::Solver => "solver",
            KeyName::Coordinator => "coordinator",
            KeyName::Aggregator => "aggregator",
        }
    }
}

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
        // A person at a terminal is asked (without echo); a script gets an error naming the
        // two ways to pass it.
        _ if std::io::stdin().is_terminal() => {
            let p = rpassword::prompt_password("keystore password: ")
                .context("cannot read the password from the terminal")?;
            if p.is_empty() {
                bail!("empty keystore password");
            }
            Ok(p)
        }
        _ => bail!(
            "no keystore password: pass --password-file FILE, set AUTONET_KEY_PASSWORD, or run \
             the command in a terminal to be asked for it"
        ),
    }
}

/// scrypt cost of new keystores: geth's standard (`n = 2^18, r = 8, p = 1`; about 256 MiB and a
/// second per encryption or decryption).
pub const SCRYPT_LOG_N: u8 = 18;
/// scrypt block size `r` of new keystores (geth's standard 8).
pub const SCRYPT_R: u32 = 8;
/// scrypt parallelism `p` of new keystores (geth's standard 1).
pub const SCRYPT_P: u32 = 1;

/// **Insecure, for test suites only.** When set (to a number from 10 to 18), new keystores use
/// scrypt `n = 2^value` instead of the standard `2^18`, so suites that create and load many keys
/// stay fast. Keys written with a low cost are easy to brute-force: never set it for real keys.
pub const INSECURE_SCRYPT_LOG_N_ENV: &str = "AUTONET_INSECURE_KEYSTORE_SCRYPT_LOG_N";

/// Most expensive scrypt parameters a keystore file may ask for: `n` at most 2^18 (a power of
/// two), `r` and `p` from 1 to 16, and `n * r * p` at most geth's standard `2^18 * 8`. A file
/// asking for more is refused before any key derivation, so a crafted file cannot make the node
/// hang or allocate without bound.
pub const MAX_SCRYPT_N: u64 = 1 << 18;
const MAX_SCRYPT_R_P: u64 = 16;
const MAX_SCRYPT_COST: u64 = MAX_SCRYPT_N * 8;
/// Most PBKDF2 iterations a keystore file may ask for (geth writes 262144).
pub const MAX_PBKDF2_C: u64 = 10_000_000;

/// The scrypt `log2(n)` for new keystores: [`SCRYPT_LOG_N`] unless the test-only
/// [`INSECURE_SCRYPT_LOG_N_ENV`] lowers it.
fn new_log_n() -> anyhow::Result<u8> {
    let value = match std::env::var(INSECURE_SCRYPT_LOG_N_ENV) {
        Err(std::env::VarError::NotPresent) => return Ok(SCRYPT_LOG_N),
        Err(std::env::VarError::NotUnicode(_)) => {
            bail!("{INSECURE_SCRYPT_LOG_N_ENV} is not a number from 10 to {SCRYPT_LOG_N}")
        }
        Ok(v) => v,
    };
    match value.trim().parse::<u8>() {
        Ok(n) if (10..=SCRYPT_LOG_N).contains(&n) => {
            if n < SCRYPT_LOG_N {
                tracing::warn!(
                    "{INSECURE_SCRYPT_LOG_N_ENV}={n}: writing a keystore with an INSECURE scrypt \
                     cost (test suites only)"
                );
            }
            Ok(n)
        }
        _ => {
            bail!("{INSECURE_SCRYPT_LOG_N_ENV}={value:?} is not a number from 10 to {SCRYPT_LOG_N}")
        }
    }
}

/// Encrypts `key` as a Web3 Secret Storage (version 3) JSON keystore, the format geth and alloy
/// read: scrypt (`n = 2^log_n`, [`SCRYPT_R`], [`SCRYPT_P`]) and AES-128-CTR, keccak-256 MAC.
fn encrypt(key: &PrivateKeySigner, password: &str, log_n: u8) -> anyhow::Result<String> {
    use aes::cipher::{KeyIvInit, StreamCipher};
    use rand08::RngCore;

    let mut rng = rand08::rngs::OsRng;
    let mut salt = [0u8; 32];
    rng.fill_bytes(&mut salt);
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let mut uuid = [0u8; 16];
    rng.fill_bytes(&mut uuid);
    uuid[6] = (uuid[6] & 0x0f) | 0x40; // version 4
    uuid[8] = (uuid[8] & 0x3f) | 0x80; // RFC 4122 variant
    let params = scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P)
        .map_err(|e| anyhow::anyhow!("bad scrypt parameters: {e}"))?;
    let mut derived = [0u8; 32];
    scrypt::scrypt(password.as_bytes(), &salt, &params, &mut derived)
        .map_err(|e| anyhow::anyhow!("scrypt failed: {e}"))?;
    let mut ciphertext = key.to_bytes().0.to_vec();
    ctr::Ctr128BE::<aes::Aes128>::new_from_slices(&derived[..16], &iv)
        .map_err(|e| anyhow::anyhow!("AES-128-CTR: {e}"))?
        .apply_keystream(&mut ciphertext);
    let mac = alloy::primitives::keccak256([&derived[16..], &ciphertext[..]].concat());
    let hex = |bytes: &[u8]| alloy::hex::encode(bytes);
    let id = format!(
        "{}-{}-{}-{}-{}",
        hex(&uuid[..4]),
        hex(&uuid[4..6]),
        hex(&uuid[6..8]),
        hex(&uuid[8..10]),
        hex(&uuid[10..])
    );
    let json = serde_json::json!({
        "address": hex(key.address().as_slice()),
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": { "iv": hex(&iv) },
            "ciphertext": hex(&ciphertext),
            "kdf": "scrypt",
            "kdfparams": {
                "dklen": 32,
                "n": 1u64 << log_n,
                "p": SCRYPT_P,
                "r": SCRYPT_R,
                "salt": hex(&salt),
            },
            "mac": hex(mac.as_slice()),
        },
        "id": id,
        "version": 3,
    });
    Ok(json.to_string())
}

fn write_new(path: &Path, key: &PrivateKeySigner, password: &str) -> anyhow::Result<()> {
    write_new_with_cost(path, key, password, new_log_n()?)
}

/// Writes the keystore atomically (mode 0600 in a 0700 directory); never replaces a file.
fn write_new_with_cost(
    path: &Path,
    key: &PrivateKeySigner,
    password: &str,
    log_n: u8,
) -> anyhow::Result<()> {
    if path.exists() {
        bail!(
            "{} already exists; refusing to overwrite a key",
            path.display()
        );
    }
    let json = encrypt(key, password, log_n)?;
    crate::secret_file::write_new(path, json.as_bytes()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists; refusing to overwrite a key",
                path.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot write keystore {}", path.display()))
        }
    })
}

/// Checks the key derivation parameters of a keystore file against the bounds above, before
/// anything derives a key with them.
fn check_kdf(path: &Path, text: &str) -> anyhow::Result<()> {
    let bad = |why: String| {
        anyhow::anyhow!(
            "keystore {} is refused: {why} (autonet reads scrypt keystores with n at most 2^18, \
             r and p from 1 to 16, n*r*p at most 2^21, or pbkdf2 with at most {MAX_PBKDF2_C} \
             rounds)",
            path.display()
        )
    };
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("it is not JSON ({e})")))?;
    let crypto = json
        .get("crypto")
        .or_else(|| json.get("Crypto"))
        .ok_or_else(|| bad("it has no crypto section".into()))?;
    let params = &crypto["kdfparams"];
    let num = |name: &str| {
        params[name]
            .as_u64()
            .ok_or_else(|| bad(format!("kdfparams.{name} is missing or not a whole number")))
    };
    if num("dklen")? != 32 {
        return Err(bad("kdfparams.dklen is not 32".into()));
    }
    match crypto["kdf"].as_str() {
        Some("scrypt") => {
            let (n, r, p) = (num("n")?, num("r")?, num("p")?);
            if !n.is_power_of_two() || !(2..=MAX_SCRYPT_N).contains(&n) {
                return Err(bad(format!(
                    "scrypt n = {n} is out of range (a power of two from 2 to 2^18 = {MAX_SCRYPT_N})"
                )));
            }
            if !(1..=MAX_SCRYPT_R_P).contains(&r) || !(1..=MAX_SCRYPT_R_P).contains(&p) {
                return Err(bad(format!("scrypt r = {r}, p = {p} out of range")));
            }
            if n * r * p > MAX_SCRYPT_COST {
                return Err(bad(format!("scrypt cost n*r*p = {} too high", n * r * p)));
            }
        }
        Some("pbkdf2") => {
            let c = num("c")?;
            if !(1..=MAX_PBKDF2_C).contains(&c) {
                return Err(bad(format!("pbkdf2 c = {c} out of range")));
            }
        }
        other => return Err(bad(format!("unknown kdf {other:?}"))),
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

/// Decrypts the key at `path`, after checking that its key derivation parameters are within the
/// bounds above.
pub fn load(path: &Path, password: &str) -> anyhow::Result<PrivateKeySigner> {
    if !path.exists() {
        bail!(
            "no key at {}: create one with `autonet key create`",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read keystore {}", path.display()))?;
    check_kdf(path, &text)?;
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

    /// The key file a test can tamper with: a real keystore (written at a low cost to keep the
    /// test fast) as JSON.
    fn cheap_keystore(dir: &Path) -> (PathBuf, serde_json::Value) {
        let path = key_path(dir, "solver").unwrap();
        write_new_with_cost(&path, &PrivateKeySigner::random(), "pw", 10).unwrap();
        let json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        (path, json)
    }

    /// A crafted keystore asking for scrypt n = 2^30 (128 GiB, hours) is refused at once with a
    /// clear error, as are other out-of-range parameters.
    #[test]
    fn expensive_kdf_parameters_are_refused_before_deriving() {
        let dir = tempfile::tempdir().unwrap();
        let (path, json) = cheap_keystore(dir.path());
        assert!(load(&path, "pw").is_ok(), "the untouched file loads");
        for (field, value, needle) in [
            ("n", serde_json::json!(1u64 << 30), "n = 1073741824"),
            ("n", serde_json::json!(1000), "n = 1000 is out of range"),
            ("r", serde_json::json!(0), "r = 0"),
            ("p", serde_json::json!(1_000_000), "p = 1000000"),
            ("r", serde_json::json!(16), "n*r*p = 4194304"),
            ("dklen", serde_json::json!(255), "dklen"),
        ] {
            let mut bad = json.clone();
            bad["crypto"]["kdfparams"]["n"] = serde_json::json!(MAX_SCRYPT_N);
            bad["crypto"]["kdfparams"][field] = value;
            std::fs::remove_file(&path).unwrap();
            std::fs::write(&path, bad.to_string()).unwrap();
            let start = std::time::Instant::now();
            let err = format!("{:#}", load(&path, "pw").unwrap_err());
            assert!(
                start.elapsed() < std::time::Duration::from_secs(2),
                "{field}: took {:?}",
                start.elapsed()
            );
            assert!(
                err.contains("is refused") && err.contains(needle),
                "{field}: {err}"
            );
            assert!(err.contains(&path.display().to_string()), "{err}");
        }
    }

    /// New keystores use geth's standard scrypt cost and are private: the file 0600, the keys
    /// directory and a data dir it creates 0700.
    #[cfg(unix)]
    #[test]
    fn new_keystores_are_standard_cost_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let path = key_path(&data, "aggregator").unwrap();
        let key = create(&path, "pw").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600, "key file");
        assert_eq!(mode(path.parent().unwrap()), 0o700, "keys directory");
        assert_eq!(mode(&data), 0o700, "data directory");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let params = &json["crypto"]["kdfparams"];
        assert_eq!(params["n"], 1 << 18, "{json}");
        assert_eq!(params["r"], 8, "{json}");
        assert_eq!(params["p"], 1, "{json}");
        assert_eq!(load(&path, "pw").unwrap().address(), key.address());
        let entries: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries.len(), 1, "no temporary file left: {entries:?}");
    }
}
