use std::path::PathBuf;

/// What can go wrong with the state store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (or another handle in this one) holds the database lock.
    #[error(
        "the state store {path} is already open in another process; stop that autonet process \
         or use a different --data-dir"
    )]
    AlreadyOpen {
        /// The database file that is locked.
        path: PathBuf,
    },
    /// The database was written by a newer autonet whose schema this binary does not know.
    #[error(
        "the state store {path} has schema version {found}, but this autonet supports at most \
         {supported}; upgrade autonet (the store was not modified)"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The schema version recorded in the file.
        found: u32,
        /// The highest schema version this binary has migrations for.
        supported: u32,
    },
    /// The file is not a readable redb database: empty, truncated, or with damaged pages. The
    /// file is left as it is; nothing is recreated over it.
    #[error(
        "corrupt store {path}: {reason}; the file was left unchanged. Restore it from a backup, \
         or move it away to start with an empty store (its state is then lost)"
    )]
    Corrupt {
        /// The damaged database file.
        path: PathBuf,
        /// What redb (or the empty-file check) found wrong, for the operator.
        reason: String,
    },
    /// The database file could not be opened (permissions, I/O, …).
    #[error("cannot open the state store {path}: {source}")]
    Open {
        /// The database file that could not be opened.
        path: PathBuf,
        /// The underlying redb error.
        #[source]
        source: redb::Error,
    },
    /// The schema version record exists but is not a valid version number.
    #[error("the state store {path} has a corrupt schema version record ({len} bytes)")]
    CorruptVersion {
        /// The database file.
        path: PathBuf,
        /// Length in bytes of the stored record (a valid one is 4: a big-endian `u32`).
        len: usize,
    },
    /// A migration failed; the store stays at the last version that committed.
    #[error("migration to schema version {to} ({name}) failed: {source}")]
    Migration {
        /// The schema version the failed migration was to reach.
        to: u32,
        /// The failed migration's description ([`crate::Migration::name`]).
        name: &'static str,
        /// Why the migration failed.
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
