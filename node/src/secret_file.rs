//! Secrets on disk (node key, protocol secret, keystores): written once, atomically, private.
//!
//! [`write_new`] writes the whole content to a temporary file created with mode 0600 in the
//! target's directory, fsyncs it, renames it to the target **without replacing** an existing
//! file (`persist_noclobber`), then fsyncs the directory. A crash at any point leaves either no
//! file at the target path or the complete one, never an empty or partial secret; at worst a
//! stray `.<name>.XXXXXX` temporary file. Directories that hold secrets are created with mode
//! 0700.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Creates `dir` and its missing parents with mode 0700 (existing ones are left as they are).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` as the new file `path` (mode 0600), atomically; fails with
/// [`io::ErrorKind::AlreadyExists`] if `path` exists, and never replaces it.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_new_with(path, |file| file.write_all(bytes))
}

/// [`write_new`] with the content written by `fill`; when `fill` fails, nothing appears at
/// `path` and the temporary file is removed.
pub fn write_new_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    create_private_dir(dir)?;
    let prefix = format!(
        ".{}.",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600));
    let mut tmp = builder.tempfile_in(dir)?;
    fill(tmp.as_file_mut())?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn written_whole_private_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/secret");
        write_new(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        #[cfg(unix)]
        {
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(&dir.path().join("a")), 0o700);
            assert_eq!(mode(&dir.path().join("a/b")), 0o700);
        }
        let err = write_new(&path, b"second").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"first");
    }

    /// A write interrupted half-way (the filler fails after writing part of the content, as a
    /// crash or a full disk would) leaves no file at the target path and no temporary file.
    #[test]
    fn an_interrupted_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let err = write_new_with(&path, |f| {
            f.write_all(b"half of the")?;
            Err(io::Error::other("simulated crash"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "simulated crash");
        assert!(!path.exists(), "a partial secret file was left behind");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
