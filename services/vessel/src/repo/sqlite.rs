//! The embedded vessel store: one SQLite file, indexed for the spec lookup, with its outbox.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use shippy_plugins::outbox::{self, Outbox, Outgoing, SqliteOutbox};
use shippy_plugins::store::{SqliteDb, StoreError};

use super::{RepoError, VesselRepository};
use crate::domain::{Specification, Vessel};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS vessels (
    id         TEXT PRIMARY KEY,
    capacity   INTEGER NOT NULL,
    max_weight INTEGER NOT NULL,
    name       TEXT NOT NULL,
    available  INTEGER NOT NULL,
    owner_id   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS vessels_by_spec ON vessels (available, capacity, max_weight);";

const ORDER: &str = "ORDER BY capacity, max_weight, id";

/// A [`VesselRepository`] on a SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteVessels {
    db: SqliteDb,
}

impl SqliteVessels {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: SqliteDb::open(path, &format!("{SCHEMA}{}", outbox::sqlite::SCHEMA))?,
        })
    }
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Vessel> {
    Ok(Vessel {
        id: r.get(0)?,
        capacity: r.get(1)?,
        max_weight: r.get(2)?,
        name: r.get(3)?,
        available: r.get(4)?,
        owner_id: r.get(5)?,
    })
}

fn unavailable(e: StoreError) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

#[async_trait]
impl VesselRepository for SqliteVessels {
    async fn create(&self, vessel: &Vessel, event: &Outgoing) -> Result<(), RepoError> {
        let (v, event) = (vessel.clone(), event.clone());
        self.db
            .call(move |c| {
                let tx = c.transaction()?;
                tx.execute(
                    "INSERT INTO vessels (id, capacity, max_weight, name, available, owner_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        v.id,
                        v.capacity,
                        v.max_weight,
                        v.name,
                        v.available,
                        v.owner_id
                    ],
                )?;
                outbox::sqlite::enqueue(&tx, &event)?;
                tx.commit()
            })
            .await
            .map_err(|e| {
                if e.is_unique_violation() {
                    RepoError::DuplicateId
                } else {
                    unavailable(e)
                }
            })?;
        Ok(())
    }

    async fn find_available(&self, spec: Specification) -> Result<Option<Vessel>, RepoError> {
        self.db
            .call(move |c| {
                c.query_row(
                    &format!(
                        "SELECT id, capacity, max_weight, name, available, owner_id FROM vessels
                         WHERE available = 1 AND capacity >= ?1 AND max_weight >= ?2 {ORDER} LIMIT 1"
                    ),
                    params![spec.capacity, spec.max_weight],
                    from_row,
                )
                .optional()
            })
            .await
            .map_err(unavailable)
    }

    async fn list(&self) -> Result<Vec<Vessel>, RepoError> {
        self.db
            .call(|c| {
                let sql = format!("SELECT id, capacity, max_weight, name, available, owner_id FROM vessels {ORDER}");
                let mut stmt = c.prepare_cached(&sql)?;
                let rows = stmt.query_map([], from_row)?;
                rows.collect()
            })
            .await
            .map_err(unavailable)
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(SqliteOutbox::new(self.db.clone()))
    }
}
