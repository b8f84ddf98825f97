//! The embedded registry: one SQLite file shared by every process on the machine. An
//! instance is visible while its `expires_at` lies in the future.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::params;

use super::{Instance, Registry, RegistryError};
use crate::now_unix_ms;
use crate::store::SqliteDb;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS instances (
    service    TEXT NOT NULL,
    id         TEXT NOT NULL,
    address    TEXT NOT NULL,
    version    TEXT NOT NULL,
    metadata   TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (service, id)
);";

/// A [`Registry`] on a SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteRegistry {
    db: SqliteDb,
}

impl SqliteRegistry {
    /// Opens (or creates) the registry file at `path`.
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        Ok(Self {
            db: SqliteDb::open(path, SCHEMA)?,
        })
    }
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl Registry for SqliteRegistry {
    async fn register(&self, instance: &Instance, ttl: Duration) -> Result<(), RegistryError> {
        let i = instance.clone();
        let metadata = serde_json::to_string(&i.metadata).unwrap_or_else(|_| "{}".into());
        self.db
            .write(move |c| {
                let now = now_unix_ms();
                c.execute("DELETE FROM instances WHERE expires_at <= ?1", [now])?;
                c.execute(
                    "INSERT INTO instances (service, id, address, version, metadata, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (service, id) DO UPDATE SET address = ?3, version = ?4,
                         metadata = ?5, expires_at = ?6",
                    params![
                        i.service,
                        i.id,
                        i.address,
                        i.version,
                        metadata,
                        now + ttl_ms(ttl)
                    ],
                )
            })
            .await?;
        Ok(())
    }

    async fn heartbeat(&self, instance: &Instance, ttl: Duration) -> Result<(), RegistryError> {
        // An upsert renews the TTL and brings back an instance that had expired.
        self.register(instance, ttl).await
    }

    async fn deregister(&self, service: &str, id: &str) -> Result<(), RegistryError> {
        let (service, id) = (service.to_owned(), id.to_owned());
        self.db
            .write(move |c| {
                c.execute(
                    "DELETE FROM instances WHERE service = ?1 AND id = ?2",
                    params![service, id],
                )
            })
            .await?;
        Ok(())
    }

    async fn healthy(&self, service: &str) -> Result<Vec<Instance>, RegistryError> {
        let service = service.to_owned();
        let rows = self
            .db
            .call(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT service, id, address, version, metadata FROM instances
                     WHERE service = ?1 AND expires_at > ?2 ORDER BY id",
                )?;
                let rows = stmt.query_map(params![service, now_unix_ms()], |r| {
                    let metadata: String = r.get(4)?;
                    Ok(Instance {
                        service: r.get(0)?,
                        id: r.get(1)?,
                        address: r.get(2)?,
                        version: r.get(3)?,
                        metadata: serde_json::from_str(&metadata).unwrap_or_default(),
                    })
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        Ok(rows)
    }
}
