//! The embedded consignment store: one SQLite file; containers and saga steps kept as JSON
//! arrays; one booking per owner and idempotency key.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use shippy_plugins::outbox::{self, Outbox, Outgoing, SqliteOutbox};
use shippy_plugins::store::{SqliteDb, StoreError, migrate_if_missing};

use shippy_common::paging::PageRequest;

use super::{ConsignmentRepository, Listed, RepoError};
use crate::domain::{Consignment, ConsignmentFilter, ConsignmentKey, Status};

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
    containers  TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    steps       TEXT NOT NULL DEFAULT '[]',
    idempotency_key TEXT NOT NULL,
    updated_ms  INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    retry_at_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS consignments_by_owner ON consignments (user_id, seq);
CREATE INDEX IF NOT EXISTS consignments_by_owner_status ON consignments (user_id, status, seq);
CREATE UNIQUE INDEX IF NOT EXISTS consignments_by_key ON consignments (user_id, idempotency_key);
CREATE INDEX IF NOT EXISTS consignments_unfinished ON consignments (status, updated_ms);
CREATE INDEX IF NOT EXISTS consignments_due ON consignments (status, retry_at_ms, updated_ms);";

const COLUMNS: &str = "id, user_id, description, weight, vessel_id, status, created_at, \
                       containers, reason, steps, idempotency_key, updated_ms, attempts, \
                       retry_at_ms";

/// A [`ConsignmentRepository`] on a SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteConsignments {
    db: SqliteDb,
}

impl SqliteConsignments {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        migrate(path)?;
        Ok(Self {
            db: SqliteDb::open(path, &format!("{SCHEMA}{}", outbox::sqlite::SCHEMA))?,
        })
    }
}

/// Gives a consignments table from before the booking saga its new columns: old bookings
/// keep their status, and their id as their idempotency key.
pub fn migrate(path: &Path) -> rusqlite::Result<()> {
    let migration = "ALTER TABLE consignments ADD COLUMN reason TEXT NOT NULL DEFAULT '';
         ALTER TABLE consignments ADD COLUMN steps TEXT NOT NULL DEFAULT '[]';
         ALTER TABLE consignments ADD COLUMN idempotency_key TEXT NOT NULL DEFAULT '';
         ALTER TABLE consignments ADD COLUMN updated_ms INTEGER NOT NULL DEFAULT 0;
         UPDATE consignments SET idempotency_key = 'old-' || id;";
    if migrate_if_missing(path, "consignments", "idempotency_key", migration)? {
        tracing::info!("consignment store migrated for the booking saga");
    }
    let backoff = "ALTER TABLE consignments ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE consignments ADD COLUMN retry_at_ms INTEGER NOT NULL DEFAULT 0;";
    if migrate_if_missing(path, "consignments", "retry_at_ms", backoff)? {
        tracing::info!("consignment store migrated: failing bookings back off");
    }
    Ok(())
}

fn json_column<T: serde::de::DeserializeOwned>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Consignment> {
    let status: String = r.get(5)?;
    Ok(Consignment {
        id: r.get(0)?,
        user_id: r.get(1)?,
        description: r.get(2)?,
        weight: r.get(3)?,
        vessel_id: r.get(4)?,
        status: Status::parse(&status).ok_or_else(|| {
            rusqlite::Error::InvalidColumnType(5, status.clone(), rusqlite::types::Type::Text)
        })?,
        created_at: r.get(6)?,
        containers: json_column(r, 7)?,
        reason: r.get(8)?,
        steps: json_column(r, 9)?,
        idempotency_key: r.get(10)?,
        updated_ms: r.get(11)?,
        attempts: r.get(12)?,
        retry_at_ms: r.get(13)?,
    })
}

fn unavailable(e: StoreError) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, RepoError> {
    serde_json::to_string(value).map_err(|e| RepoError::Unavailable(e.to_string()))
}

impl SqliteConsignments {
    async fn one(
        &self,
        filter: &'static str,
        args: Vec<String>,
    ) -> Result<Option<Consignment>, RepoError> {
        // One row by a unique index: short enough to read on the calling thread.
        self.db
            .read(move |db| {
                let sql = format!("SELECT {COLUMNS} FROM consignments WHERE {filter}");
                db.prepare_cached(&sql)?
                    .query_row(rusqlite::params_from_iter(args), from_row)
                    .optional()
            })
            .await
            .map_err(unavailable)
    }
}

#[async_trait]
impl ConsignmentRepository for SqliteConsignments {
    async fn create_within(
        &self,
        consignment: &Consignment,
        event: &Outgoing,
        most_open: u64,
    ) -> Result<(), RepoError> {
        let (c, event) = (consignment.clone(), event.clone());
        let containers = to_json(&c.containers)?;
        let steps = to_json(&c.steps)?;
        let most = i64::try_from(most_open).unwrap_or(i64::MAX);
        let stored = self
            .db
            .write(move |tx| {
                // The count and the insert in one write transaction: no other can come between.
                let open: i64 = tx
                    .prepare_cached(
                        "SELECT count(*) FROM consignments WHERE user_id = ?1 AND status IN
                         ('pending', 'rejecting', 'cancelling', 'failing')",
                    )?
                    .query_row(params![c.user_id], |r| r.get(0))?;
                if most > 0 && open >= most {
                    return Ok(false);
                }
                tx.prepare_cached(&format!(
                    "INSERT INTO consignments ({COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                ))?
                .execute(params![
                    c.id,
                    c.user_id,
                    c.description,
                    c.weight,
                    c.vessel_id,
                    c.status.as_str(),
                    c.created_at,
                    containers,
                    c.reason,
                    steps,
                    c.idempotency_key,
                    c.updated_ms,
                    c.attempts,
                    c.retry_at_ms
                ])?;
                outbox::sqlite::enqueue(tx, &event)?;
                Ok(true)
            })
            .await
            .map_err(|e| e.unique_or(RepoError::DuplicateKey, unavailable))?;
        if stored {
            Ok(())
        } else {
            Err(RepoError::QuotaReached)
        }
    }

    async fn get(&self, id: &str) -> Result<Option<Consignment>, RepoError> {
        self.one("id = ?1", vec![id.to_owned()]).await
    }

    async fn by_key(&self, user_id: &str, key: &str) -> Result<Option<Consignment>, RepoError> {
        self.one(
            "user_id = ?1 AND idempotency_key = ?2",
            vec![user_id.to_owned(), key.to_owned()],
        )
        .await
    }

    async fn advance(
        &self,
        from: Status,
        next: &Consignment,
        event: Option<&Outgoing>,
    ) -> Result<bool, RepoError> {
        let (c, event) = (next.clone(), event.cloned());
        let steps = to_json(&c.steps)?;
        self.db
            .write(move |tx| {
                // The guard: only the booking as it was read moves on.
                let moved = tx
                    .prepare_cached(
                        "UPDATE consignments SET status = ?3, vessel_id = ?4, reason = ?5,
                                                 steps = ?6, updated_ms = ?7, attempts = ?8,
                                                 retry_at_ms = ?9
                         WHERE id = ?1 AND status = ?2",
                    )?
                    .execute(params![
                        c.id,
                        from.as_str(),
                        c.status.as_str(),
                        c.vessel_id,
                        c.reason,
                        steps,
                        c.updated_ms,
                        c.attempts,
                        c.retry_at_ms
                    ])?;
                if moved == 0 {
                    return Ok(false);
                }
                if let Some(event) = &event {
                    outbox::sqlite::enqueue(tx, event)?;
                }
                Ok(true)
            })
            .await
            .map_err(unavailable)
    }

    async fn unfinished(
        &self,
        before_ms: i64,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<Consignment>, RepoError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .call(move |db| {
                let sql = format!(
                    "SELECT {COLUMNS} FROM consignments
                     WHERE status IN ('pending', 'rejecting', 'cancelling', 'failing')
                       AND updated_ms < ?1 AND retry_at_ms <= ?2
                     ORDER BY retry_at_ms, updated_ms LIMIT ?3"
                );
                let mut stmt = db.prepare_cached(&sql)?;
                let rows = stmt.query_map(params![before_ms, now_ms, limit], from_row)?;
                rows.collect()
            })
            .await
            .map_err(unavailable)
    }

    async fn defer(&self, id: &str, from: Status, next: &Consignment) -> Result<bool, RepoError> {
        let (id, attempts, retry_at_ms) = (id.to_owned(), next.attempts, next.retry_at_ms);
        self.db
            .write(move |tx| {
                let moved = tx
                    .prepare_cached(
                        "UPDATE consignments SET attempts = ?3, retry_at_ms = ?4
                         WHERE id = ?1 AND status = ?2",
                    )?
                    .execute(params![id, from.as_str(), attempts, retry_at_ms])?;
                Ok(moved > 0)
            })
            .await
            .map_err(unavailable)
    }

    async fn list(
        &self,
        filter: &ConsignmentFilter,
        page: &PageRequest<ConsignmentKey>,
    ) -> Result<Vec<Listed>, RepoError> {
        let (filter, page) = (filter.clone(), page.clone());
        self.db
            .call(move |db| {
                // `seq` alone orders them (it is unique); the id in the key goes along.
                let mut conditions = vec!["user_id = ?1"];
                if filter.status.is_some() {
                    conditions.push("status = ?2");
                }
                if page.after.is_some() {
                    conditions.push("seq < ?3");
                }
                let sql = format!(
                    "SELECT {COLUMNS}, seq FROM consignments WHERE {} ORDER BY seq DESC LIMIT ?4",
                    conditions.join(" AND ")
                );
                let mut stmt = db.prepare_cached(&sql)?;
                let status = filter.status.map_or("", Status::as_str);
                let after = page.after.as_ref().map_or(0, |(seq, _)| *seq);
                let limit = i64::try_from(page.fetch()).unwrap_or(i64::MAX);
                let rows = stmt.query_map(params![filter.owner, status, after, limit], |r| {
                    let c = from_row(r)?;
                    Ok(((r.get::<_, i64>(14)?, c.id.clone()), c))
                })?;
                rows.collect()
            })
            .await
            .map_err(unavailable)
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(SqliteOutbox::new(self.db.clone()))
    }
}
