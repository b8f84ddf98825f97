//! The embedded event store: one SQLite file, indexed by user and time.

use std::path::Path;

use async_trait::async_trait;
use rusqlite::params;
use shippy_common::events::Detail;
use shippy_plugins::store::{SqliteDb, StoreError, migrate_if_missing};

use shippy_common::paging::PageRequest;

use super::{Event, EventKey, Filter, LogRepository, RepoError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    origin       TEXT NOT NULL,
    method       TEXT NOT NULL,
    message      TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    time_unix_ms INTEGER NOT NULL,
    subject      TEXT NOT NULL DEFAULT '',
    sequence     INTEGER NOT NULL DEFAULT 0,
    -- The typed detail as JSON ({'type': 'consignment_booked', ...}); NULL on events
    -- from before details.
    detail       TEXT
);
CREATE INDEX IF NOT EXISTS events_by_user_time ON events (user_id, time_unix_ms);
DROP INDEX IF EXISTS events_in_order;
CREATE INDEX IF NOT EXISTS events_in_causal_order ON events (user_id, time_unix_ms, sequence, id);";

/// Gives an events table from before details their columns (empty: such events have none).
fn migrate(path: &Path) -> rusqlite::Result<()> {
    let migration = "ALTER TABLE events ADD COLUMN subject TEXT NOT NULL DEFAULT '';
         ALTER TABLE events ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE events ADD COLUMN detail TEXT;";
    if migrate_if_missing(path, "events", "detail", migration)? {
        tracing::info!("event store migrated: events carry their subject and typed detail");
    }
    Ok(())
}

/// `detail` as stored: JSON, or NULL.
fn detail_text(detail: Option<&Detail>) -> Option<String> {
    detail.and_then(|d| serde_json::to_string(d).ok())
}

/// A stored detail back; one this version cannot read (a newer kind) is none.
fn detail_from(text: Option<String>) -> Option<Detail> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

/// A [`LogRepository`] on a SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteLogs {
    db: SqliteDb,
}

impl SqliteLogs {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        migrate(path)?;
        Ok(Self {
            db: SqliteDb::open(path, SCHEMA)?,
        })
    }
}

fn unavailable(e: StoreError) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

#[async_trait]
impl LogRepository for SqliteLogs {
    async fn insert(&self, event: &Event) -> Result<bool, RepoError> {
        Ok(self.insert_all(std::slice::from_ref(event)).await? == 1)
    }

    /// One transaction for the lot.
    async fn insert_all(&self, events: &[Event]) -> Result<usize, RepoError> {
        if events.is_empty() {
            return Ok(0);
        }
        let events = events.to_vec();
        self.db
            .write(move |tx| {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO events (id, origin, method, message, user_id, time_unix_ms,
                                         subject, sequence, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
                )?;
                let mut new = 0;
                for e in &events {
                    new += insert.execute(params![
                        e.id,
                        e.origin,
                        e.method,
                        e.message,
                        e.user_id,
                        e.time_unix_ms,
                        e.subject,
                        e.sequence,
                        detail_text(e.detail.as_ref())
                    ])?;
                }
                Ok(new)
            })
            .await
            .map_err(unavailable)
    }

    /// Events arrive in time order, so everything stored before the first young enough event
    /// goes: found from the oldest, it reads only what is about to go (an event that arrives
    /// days late stays until it is the oldest).
    async fn trim(&self, before_ms: i64) -> Result<u64, RepoError> {
        let cut: i64 = self
            .db
            .call(move |c| {
                c.prepare_cached(
                    "SELECT coalesce((SELECT seq FROM events WHERE time_unix_ms >= ?1
                                      ORDER BY seq LIMIT 1),
                                     (SELECT coalesce(max(seq), 0) + 1 FROM events))",
                )?
                .query_row(params![before_ms], |r| r.get(0))
            })
            .await
            .map_err(unavailable)?;
        let mut gone = 0;
        // In slices of 10,000, so no write holds the file for long.
        loop {
            let deleted = self
                .db
                .write(move |tx| {
                    tx.prepare_cached(
                        "DELETE FROM events WHERE seq IN (
                             SELECT seq FROM events WHERE seq < ?1 ORDER BY seq LIMIT 10000)",
                    )?
                    .execute(params![cut])
                })
                .await
                .map_err(unavailable)?;
            gone += deleted as u64;
            if deleted < 10_000 {
                return Ok(gone);
            }
        }
    }

    async fn list(
        &self,
        filter: &Filter,
        page: &PageRequest<EventKey>,
    ) -> Result<Vec<Event>, RepoError> {
        let (f, page) = (filter.clone(), page.clone());
        self.db
            .call(move |c| {
                // Only the conditions asked for, so the index serves the range and the order:
                // a page deep in the log costs what the first does.
                let mut conditions = vec!["user_id = ?1"];
                for (given, condition) in [
                    (f.origin.is_some(), "origin = ?2"),
                    (f.since_unix_ms.is_some(), "time_unix_ms >= ?3"),
                    (f.until_unix_ms.is_some(), "time_unix_ms < ?4"),
                    (
                        page.after.is_some(),
                        "(time_unix_ms, sequence, id) < (?5, ?6, ?7)",
                    ),
                ] {
                    if given {
                        conditions.push(condition);
                    }
                }
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT id, origin, method, message, user_id, time_unix_ms, subject, sequence,
                            detail FROM events
                     WHERE {} ORDER BY time_unix_ms DESC, sequence DESC, id DESC LIMIT ?8",
                    conditions.join(" AND ")
                ))?;
                let (after_time, after_sequence, after_id) = match page.after.clone() {
                    Some((time, sequence, id)) => (Some(time), Some(sequence), Some(id)),
                    None => (None, None, None),
                };
                let limit = i64::try_from(page.fetch()).unwrap_or(i64::MAX);
                let rows = stmt.query_map(
                    params![
                        f.user_id,
                        f.origin,
                        f.since_unix_ms,
                        f.until_unix_ms,
                        after_time,
                        after_sequence,
                        after_id,
                        limit
                    ],
                    |r| {
                        Ok(Event {
                            id: r.get(0)?,
                            origin: r.get(1)?,
                            method: r.get(2)?,
                            message: r.get(3)?,
                            user_id: r.get(4)?,
                            time_unix_ms: r.get(5)?,
                            subject: r.get(6)?,
                            sequence: r.get(7)?,
                            detail: detail_from(r.get(8)?),
                        })
                    },
                )?;
                rows.collect()
            })
            .await
            .map_err(unavailable)
    }
}
