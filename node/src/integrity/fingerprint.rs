//! The core fingerprint rule, shared by `node/build.rs` (which embeds the values in the binary)
//! and the node (which recomputes them in tests). Only `std` and `blake3`, so the build script
//! can include this file as is.
//!
//! **Rule (v1).** The files are those under the listed roots (a root is a file or a folder,
//! taken recursively; hidden entries skipped), named by their path relative to the workspace
//! root with `/` separators, and sorted by that name as bytes. Each file's content is normalised
//! (every `\r\n` becomes `\n`, so a Windows checkout hashes the same). The fingerprint is
//! BLAKE3 in key-derivation mode with context [`CONTEXT`], fed for each file in order: the
//! path's bytes, one `0` byte, the normalised length as a little-endian `u64`, the normalised
//! content. Nothing else (no time stamps, no absolute paths, no build flags) enters it, so two
//! clean builds of the same sources agree.
//!
//! - **Protected** ([`PROTECTED`]): the code a governance vote vouches for (constitution
//!   handling and its document, the agent preamble, enforcement, the registration encoding, the
//!   governed keys, this rule and the integrity check itself). Its value is published on chain as
//!   `node.code.hash.<version>`. Lineage and alignment hashes have no implementation yet; their
//!   files join this list when they exist.
//! - **Combined** ([`COMBINED`]): every source the binary is built from, for diagnostics (two
//!   peers with the same combined value run the same code).

use std::io;
use std::path::{Path, PathBuf};

/// BLAKE3 key-derivation context of rule v1.
pub const CONTEXT: &str = "autonet core fingerprint v1";

/// The protected roots, relative to the workspace root.
pub const PROTECTED: &[&str] = &[
    "protocol/src/constitution",
    "contracts/src/binding.rs",
    "contracts/src/governance.rs",
    "contracts/sol/RPB.sol",
    "contracts/sol/Registry.sol",
    "node/src/integrity",
    "node/src/constitution.rs",
    "node/src/overlay/constitution.rs",
    "node/build.rs",
];

/// Every source the binary is built from (the crates' `src` and manifests, the Solidity suite and
/// its artifacts, the lock file).
pub const COMBINED: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "actors/Cargo.toml",
    "actors/src",
    "contracts/Cargo.toml",
    "contracts/artifacts",
    "contracts/sol",
    "contracts/src",
    "merkle/Cargo.toml",
    "merkle/src",
    "models/Cargo.toml",
    "models/src",
    "node/Cargo.toml",
    "node/build.rs",
    "node/src",
    "p2p/Cargo.toml",
    "p2p/src",
    "protocol/Cargo.toml",
    "protocol/src",
    "store/Cargo.toml",
    "store/src",
    "wire/Cargo.toml",
    "wire/src",
];

/// The files under `roots` (relative to `workspace`), as (relative name, absolute path), sorted
/// by name. A missing root is an error: the rule must never silently hash less.
pub fn files(workspace: &Path, roots: &[&str]) -> io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for root in roots {
        let path = workspace.join(root);
        if !path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "fingerprint root {root} is missing under {}",
                    workspace.display()
                ),
            ));
        }
        walk(&path, root, &mut out)?;
    }
    out.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

fn walk(path: &Path, name: &str, out: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        out.push((name.to_string(), path.to_path_buf()));
        return Ok(());
    }
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("non-UTF-8 file name under {name}"),
            ));
        };
        if file_name.starts_with('.') {
            continue;
        }
        walk(&entry.path(), &format!("{name}/{file_name}"), out)?;
    }
    Ok(())
}

/// `\r\n` → `\n`.
pub fn normalise(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// The fingerprint of `roots` under `workspace` (rule v1), as 32 bytes.
pub fn fingerprint(workspace: &Path, roots: &[&str]) -> io::Result<[u8; 32]> {
    let mut hasher = blake3::Hasher::new_derive_key(CONTEXT);
    for (name, path) in files(workspace, roots)? {
        let content = normalise(&std::fs::read(&path)?);
        hasher.update(name.as_bytes());
        hasher.update(&[0]);
        hasher.update(&(content.len() as u64).to_le_bytes());
        hasher.update(&content);
    }
    Ok(*hasher.finalize().as_bytes())
}

/// Lower-case hex of `bytes`.
pub fn hex32(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
