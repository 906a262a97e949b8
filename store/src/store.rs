use std::path::{Path, PathBuf};

use redb::{
    Database, DatabaseError, Durability, ReadableDatabase, ReadableTable, StorageError,
    TableDefinition, TableError, WriteTransaction,
};

use crate::StoreError;
use crate::error::db;
use crate::migrations::{MIGRATIONS, Migration};

/// A table of byte keys and byte values, named once as a constant by the crate that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table(&'static str);

impl Table {
    /// Names a table. Names are global to the store: prefix them with the owning crate.
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The table's name.
    pub const fn name(self) -> &'static str {
        self.0
    }

    fn def(self) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
        TableDefinition::new(self.0)
    }
}

/// One (key, value) pair read from a table.
pub type Entry = (Vec<u8>, Vec<u8>);

/// The store's own bookkeeping (schema version).
const META: Table = Table::new("store.meta");
const VERSION_KEY: &[u8] = b"schema_version";

/// The node's durable state: one redb database file.
#[derive(Debug)]
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens the store at `path` (creating it if needed) and migrates it to the current schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, MIGRATIONS)
    }

    /// Opens the store with an explicit migration list (tests use this to add steps).
    ///
    /// An existing file must be a whole, undamaged redb database: an empty, truncated or
    /// bit-flipped file is [`StoreError::Corrupt`] and is left as it is (never recreated over).
    /// Opening checks the checksums of every page reachable from the last commit, so damage is
    /// found here rather than by a later read.
    pub fn open_with(path: impl AsRef<Path>, migrations: &[Migration]) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        match std::fs::metadata(&path) {
            // redb would silently initialise a zero-length file as a new database.
            Ok(meta) if meta.len() == 0 => {
                return Err(StoreError::Corrupt {
                    path,
                    reason: "the file is empty (a redb database always starts with a header)"
                        .into(),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(StoreError::Open {
                    path,
                    source: StorageError::from(e).into(),
                });
            }
        }
        let db = match redb_guard(|| Database::create(&path)) {
            Ok(Ok(db)) => db,
            Ok(Err(err)) => return Err(open_error(&path, err)),
            Err(panic) => return Err(corrupt_after_panic(&path, &panic)),
        };
        // redb panics (instead of returning an error) on some damaged pages, and dropping a
        // handle to a damaged database can panic too: the handle is dropped inside the guard
        // when the check fails (a drop during the unwinding of a panic would abort).
        let mut db = std::mem::ManuallyDrop::new(db);
        let failed = match redb_guard(|| db.check_integrity()) {
            Ok(Ok(_repaired)) => None,
            Ok(Err(err)) => Some(open_error(&path, err)),
            Err(panic) => Some(corrupt_after_panic(&path, &panic)),
        };
        if let Some(err) = failed {
            let _ = redb_guard(|| drop(std::mem::ManuallyDrop::into_inner(db)));
            return Err(err);
        }
        let store = Self {
            db: std::mem::ManuallyDrop::into_inner(db),
            path,
        };
        store.migrate(migrations)?;
        Ok(store)
    }

    /// Where the database file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        match self.get(META, VERSION_KEY)? {
            None => Ok(0),
            Some(bytes) => {
                let arr: [u8; 4] =
                    bytes
                        .as_slice()
                        .try_into()
                        .map_err(|_| StoreError::CorruptVersion {
                            path: self.path.clone(),
                            len: bytes.len(),
                        })?;
                Ok(u32::from_be_bytes(arr))
            }
        }
    }

    fn migrate(&self, migrations: &[Migration]) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        let supported = migrations.len() as u32;
        if found > supported {
            return Err(StoreError::TooNew {
                path: self.path.clone(),
                found,
                supported,
            });
        }
        for m in &migrations[found as usize..] {
            let wrap = |source| StoreError::Migration {
                to: m.to,
                name: m.name,
                source: Box::new(source),
            };
            let mut tx = self.begin_write().map_err(wrap)?;
            (m.apply)(&tx).map_err(wrap)?;
            put_in(&mut tx, META, VERSION_KEY, &m.to.to_be_bytes()).map_err(wrap)?;
            tx.commit().map_err(|e| wrap(db(e)))?;
        }
        Ok(())
    }

    fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        let mut tx = self.db.begin_write().map_err(db)?;
        tx.set_durability(Durability::Immediate).map_err(db)?;
        Ok(tx)
    }

    /// Writes one value; when this returns `Ok` the write is durable.
    pub fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.batch(|b| b.put(table, key, value))
    }

    /// Removes one key (a missing key is not an error); durable on `Ok`.
    pub fn remove(&self, table: Table, key: &[u8]) -> Result<(), StoreError> {
        self.batch(|b| b.remove(table, key))
    }

    /// Runs several writes atomically: all of them are durable on `Ok`, none on `Err`.
    pub fn batch<T>(
        &self,
        f: impl FnOnce(&mut Batch<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = self.begin_write()?;
        let out = f(&mut Batch { tx: &mut tx })?;
        tx.commit().map_err(db)?;
        Ok(out)
    }

    /// Reads one value.
    pub fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let t = match tx.open_table(table.def()) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(db(e)),
        };
        Ok(t.get(key).map_err(db)?.map(|v| v.value().to_vec()))
    }

    /// Every (key, value) of a table in key order.
    pub fn scan(&self, table: Table) -> Result<Vec<Entry>, StoreError> {
        self.scan_prefix(table, &[])
    }

    /// Every (key, value) whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, table: Table, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let t = match tx.open_table(table.def()) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(db(e)),
        };
        let mut out = Vec::new();
        for item in t.range(prefix..).map_err(db)? {
            let (k, v) = item.map_err(db)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }
}

/// Maps an error of opening the database to the store's error, naming the file.
fn open_error(path: &Path, err: DatabaseError) -> StoreError {
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    match err {
        DatabaseError::DatabaseAlreadyOpen => StoreError::AlreadyOpen {
            path: path.to_path_buf(),
        },
        DatabaseError::Storage(StorageError::Corrupted(why)) => corrupt(why),
        DatabaseError::Storage(StorageError::Io(io))
            if matches!(
                io.kind(),
                std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
            ) =>
        {
            corrupt(format!("not a readable redb database ({io})"))
        }
        other => StoreError::Open {
            path: path.to_path_buf(),
            source: other.into(),
        },
    }
}

fn corrupt_after_panic(path: &Path, panic: &str) -> StoreError {
    StoreError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("damaged database file (redb: {panic})"),
    }
}

thread_local! {
    /// Set while this thread runs [`redb_guard`]: its panics are reported as errors, not printed.
    static IN_GUARD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err(message)`.
///
/// redb 3 answers some damaged files with a panic (an assertion on the file length when the file
/// is truncated, `unreachable!` on a page whose type byte is flipped) rather than an error, and
/// offers no check that would find the damage without one; `catch_unwind` is the only way to turn
/// those into [`StoreError::Corrupt`]. The default panic message of such a panic is not printed
/// (the error says it), other threads' panics are reported as before.
fn redb_guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_GUARD.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = IN_GUARD.with(|g| g.replace(true));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    IN_GUARD.with(|g| g.set(was));
    out.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "panic".to_string())
    })
}

/// The writes of one atomic [`Store::batch`].
pub struct Batch<'a> {
    tx: &'a mut WriteTransaction,
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch").finish_non_exhaustive()
    }
}

impl Batch<'_> {
    /// Inserts or replaces a value.
    pub fn put(&mut self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        put_in(self.tx, table, key, value)
    }

    /// Removes a key if present.
    pub fn remove(&mut self, table: Table, key: &[u8]) -> Result<(), StoreError> {
        let mut t = self.tx.open_table(table.def()).map_err(db)?;
        t.remove(key).map_err(db)?;
        Ok(())
    }

    /// Reads a value as this batch sees it (including its own earlier writes).
    pub fn get(&mut self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.tx.open_table(table.def()).map_err(db)?;
        Ok(t.get(key).map_err(db)?.map(|v| v.value().to_vec()))
    }
}

fn put_in(
    tx: &mut WriteTransaction,
    table: Table,
    key: &[u8],
    value: &[u8],
) -> Result<(), StoreError> {
    let mut t = tx.open_table(table.def()).map_err(db)?;
    t.insert(key, value).map_err(db)?;
    Ok(())
}
