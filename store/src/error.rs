use std::path::PathBuf;

/// What can go wrong with the state store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (or another handle in this one) holds the database lock.
    #[error(
        "the state store {path} is already open in another process; stop that autonet process \
         or use a different --data-dir"
    )]
    AlreadyOpen { path: PathBuf },
    /// The database was written by a newer autonet whose schema this binary does not know.
    #[error(
        "the state store {path} has schema version {found}, but this autonet supports at most \
         {supported}; upgrade autonet (the store was not modified)"
    )]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// The file is not a readable redb database: empty, truncated, or with damaged pages. The
    /// file is left as it is; nothing is recreated over it.
    #[error(
        "corrupt store {path}: {reason}; the file was left unchanged. Restore it from a backup, \
         or move it away to start with an empty store (its state is then lost)"
    )]
    Corrupt { path: PathBuf, reason: String },
    /// The database file could not be opened (permissions, I/O, …).
    #[error("cannot open the state store {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: redb::Error,
    },
    /// The schema version record exists but is not a valid version number.
    #[error("the state store {path} has a corrupt schema version record ({len} bytes)")]
    CorruptVersion { path: PathBuf, len: usize },
    /// A migration failed; the store stays at the last version that committed.
    #[error("migration to schema version {to} ({name}) failed: {source}")]
    Migration {
        to: u32,
        name: &'static str,
        #[source]
        source: Box<StoreError>,
    },
    /// Any other error from redb (I/O, corruption, …).
    #[error("state store error: {0}")]
    Db(#[from] redb::Error),
}

/// Converts any of redb's specific error types into [`StoreError::Db`].
pub(crate) fn db<E: Into<redb::Error>>(err: E) -> StoreError {
    StoreError::Db(err.into())
}
