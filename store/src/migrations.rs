//! Schema versions and the migrations between them.
//!
//! A fresh database starts at version 0 and is brought to [`SCHEMA_VERSION`] by applying every
//! migration in [`MIGRATIONS`] in order. Each migration runs in its own write transaction together
//! with the version bump, so a crash mid-migration leaves the store at the previous version and the
//! migration runs again on the next open.

use redb::WriteTransaction;

use crate::StoreError;

/// One step of the schema: what it does and the version it leads to.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The schema version after this migration (1 for the first).
    pub to: u32,
    /// A short description, shown in errors and logs.
    pub name: &'static str,
    /// Applies the migration inside the given transaction.
    pub apply: fn(&WriteTransaction) -> Result<(), StoreError>,
}

/// Every migration, in order; `MIGRATIONS[i].to == i + 1`.
pub const MIGRATIONS: &[Migration] = &[Migration {
    to: 1,
    name: "create the meta table",
    apply: |_| Ok(()),
}];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.to as usize, i + 1, "migration {} is out of order", m.name);
        }
    }
}
