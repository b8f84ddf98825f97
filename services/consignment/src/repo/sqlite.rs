//! The embedded consignment store: one SQLite file; containers kept as a JSON array.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{Row, params};
use shippy_plugins::outbox::{self, Outbox, Outgoing, SqliteOutbox};
use shippy_plugins::store::{SqliteDb, StoreError};

use super::{ConsignmentRepository, RepoError};
use crate::domain::Consignment;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS consignments (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    user_id     TEXT NOT NULL,
    description TEXT NOT NULL,
    weight      INTEGER NOT NULL,
    vessel_id   TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    containers  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS consignments_by_owner ON consignments (user_id, seq);";

/// A [`ConsignmentRepository`] on a SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteConsignments {
    db: SqliteDb,
}

impl SqliteConsignments {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: SqliteDb::open(path, &format!("{SCHEMA}{}", outbox::sqlite::SCHEMA))?,
        })
    }
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Consignment> {
    let containers: String = r.get(7)?;
    Ok(Consignment {
        id: r.get(0)?,
        user_id: r.get(1)?,
        description: r.get(2)?,
        weight: r.get(3)?,
        vessel_id: r.get(4)?,
        status: r.get(5)?,
        created_at: r.get(6)?,
        containers: serde_json::from_str(&containers).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, Box::new(e))
        })?,
    })
}

fn unavailable(e: StoreError) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

#[async_trait]
impl ConsignmentRepository for SqliteConsignments {
    async fn create(&self, consignment: &Consignment, event: &Outgoing) -> Result<(), RepoError> {
        let (c, event) = (consignment.clone(), event.clone());
        let containers = serde_json::to_string(&c.containers)
            .map_err(|e| RepoError::Unavailable(e.to_string()))?;
        self.db
            .call(move |db| {
                let tx = db.transaction()?;
                tx.execute(
                    "INSERT INTO consignments (id, user_id, description, weight, vessel_id, status, created_at, containers)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![c.id, c.user_id, c.description, c.weight, c.vessel_id, c.status, c.created_at, containers],
                )?;
                outbox::sqlite::enqueue(&tx, &event)?;
                tx.commit()
            })
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn by_owner(&self, user_id: &str) -> Result<Vec<Consignment>, RepoError> {
        let user_id = user_id.to_owned();
        self.db
            .call(move |db| {
                let mut stmt = db.prepare_cached(
                    "SELECT id, user_id, description, weight, vessel_id, status, created_at, containers
                     FROM consignments WHERE user_id = ?1 ORDER BY seq DESC",
                )?;
                let rows = stmt.query_map([user_id], from_row)?;
                rows.collect()
            })
            .await
            .map_err(unavailable)
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(SqliteOutbox::new(self.db.clone()))
    }
}
