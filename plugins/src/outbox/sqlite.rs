//! The outbox as a table in a service's own SQLite file, so a write and its event commit in
//! one transaction.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rusqlite::{Transaction, params};

use super::{Outbox, OutboxError, Outgoing, Pending};
use crate::broker::Message;
use crate::flags;
use crate::store::SqliteDb;

/// Append this to a repository's schema.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    topic   TEXT NOT NULL,
    key     TEXT NOT NULL,
    headers TEXT NOT NULL,
    payload BLOB NOT NULL
);";

/// Enqueues `outgoing` inside `tx`, the transaction of the write it describes.
pub fn enqueue(tx: &Transaction<'_>, outgoing: &Outgoing) -> rusqlite::Result<()> {
    // Every write publishes an event, so this is where a store refusing writes is played.
    if flags::on(flags::STORE_REFUSES_WRITES) {
        flags::injected(flags::STORE_REFUSES_WRITES, "the store refused a write");
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
            Some("the store refuses writes (fault flag store.refuse_writes)".into()),
        ));
    }
    let m = &outgoing.message;
    let headers = serde_json::to_string(&m.headers).unwrap_or_else(|_| "{}".into());
    tx.prepare_cached("INSERT INTO outbox (topic, key, headers, payload) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![outgoing.topic, m.key, headers, m.payload])?;
    // The commit of `tx` wakes the relay (`SqliteDb::write`).
    crate::store::mark_enqueued();
    Ok(())
}

/// The outbox table of a repository's database.
#[derive(Clone, Debug)]
pub struct SqliteOutbox {
    db: SqliteDb,
}

impl SqliteOutbox {
    /// The outbox in `db`, whose schema includes [`SCHEMA`].
    pub fn new(db: SqliteDb) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Outbox for SqliteOutbox {
    async fn enqueue_all(&self, outgoing: &[Outgoing]) -> Result<(), OutboxError> {
        let all = outgoing.to_vec();
        self.db
            .write(move |tx| all.iter().try_for_each(|o| enqueue(tx, o)))
            .await?;
        Ok(())
    }

    async fn pending(&self, limit: usize) -> Result<Vec<Pending>, OutboxError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // At most one batch, in key order: short enough to read on the calling thread.
        Ok(self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT seq, topic, key, headers, payload FROM outbox ORDER BY seq LIMIT ?1",
                )?;
                let rows = stmt.query_map([limit], |r| {
                    let headers: String = r.get(3)?;
                    Ok(Pending {
                        id: r.get::<_, i64>(0)?.to_string(),
                        outgoing: Outgoing {
                            topic: r.get(1)?,
                            message: Message {
                                key: r.get(2)?,
                                headers: serde_json::from_str::<BTreeMap<String, String>>(&headers)
                                    .unwrap_or_default(),
                                payload: r.get(4)?,
                            },
                        },
                    })
                })?;
                rows.collect()
            })
            .await?)
    }

    async fn sent(&self, ids: &[String]) -> Result<(), OutboxError> {
        let seqs = ids
            .iter()
            .map(|id| {
                id.parse::<i64>()
                    .map_err(|_| OutboxError::Unavailable(format!("no outbox entry {id:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.db
            .write(move |tx| {
                let mut delete = tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?;
                for seq in seqs {
                    delete.execute([seq])?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    fn committed(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.db.enqueued()
    }

    async fn backlog(&self) -> Result<u64, OutboxError> {
        let n: i64 = self
            .db
            .call(|c| c.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0)))
            .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }
}
