//! Puts the git commit of the build into `autonet --version` (`AUTONET_GIT_COMMIT`; `unknown`
//! outside a git checkout, e.g. a source tarball), and the core fingerprints of the sources into
//! the binary (`AUTONET_CORE_FINGERPRINT`, `AUTONET_COMBINED_FINGERPRINT`; the rule is in
//! `src/integrity/fingerprint.rs`, shared with the node so tests recompute it).

use std::path::Path;
use std::process::Command;

#[path = "src/integrity/fingerprint.rs"]
#[allow(dead_code)] // The node uses the rest of the rule; the build only hashes.
mod fingerprint;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=AUTONET_GIT_COMMIT={commit}");
    // Rebuild the string when HEAD moves: HEAD itself (a checkout) and the refs (a commit).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
    }
    if let Some(dir) = git(&["rev-parse", "--git-common-dir"]) {
        for path in ["refs/heads", "packed-refs"] {
            let path = format!("{dir}/{path}");
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    if let Err(e) = fingerprints() {
        // A build error, not a panic: the message is the reason.
        println!("cargo:warning={e}");
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

/// Embeds both fingerprints; a root that cannot be read fails the build (a binary must never
/// carry a fingerprint of less than the rule names).
fn fingerprints() -> Result<(), String> {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?;
    let workspace = Path::new(&manifest)
        .parent()
        .ok_or("the node crate must sit in the workspace")?;
    for (var, roots) in [
        ("AUTONET_CORE_FINGERPRINT", fingerprint::PROTECTED),
        ("AUTONET_COMBINED_FINGERPRINT", fingerprint::COMBINED),
    ] {
        let value = fingerprint::fingerprint(workspace, roots)
            .map_err(|e| format!("cannot compute {var}: {e}"))?;
        println!("cargo:rustc-env={var}={}", fingerprint::hex32(&value));
        // Cargo scans a folder given here recursively, so a new file also reruns the script.
        for root in roots {
            println!("cargo:rerun-if-changed={}", workspace.join(root).display());
        }
    }
    Ok(())
}
