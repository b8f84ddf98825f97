//! The embedded user store: one SQLite file.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};
use shippy_plugins::outbox::{self, Outbox, Outgoing, SqliteOutbox};
use shippy_plugins::store::{SqliteDb, StoreError};

use shippy_common::paging::PageRequest;

use super::{RepoError, UserRepository};
use crate::domain::{StoredUser, User};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    company       TEXT NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL
);";

const COLUMNS: &str = "id, name, company, email, password_hash";

/// A [`UserRepository`] on a SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteUsers {
    db: SqliteDb,
}

impl SqliteUsers {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            db: SqliteDb::open(path, &format!("{SCHEMA}{}", outbox::sqlite::SCHEMA))?,
        })
    }

    async fn one(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<Option<StoredUser>, RepoError> {
        let value = value.to_owned();
        // One row by a unique index: short enough to read on the calling thread.
        self.db
            .read(move |c| {
                c.query_row(
                    &format!("SELECT {COLUMNS} FROM users WHERE {column} = ?1"),
                    [value],
                    from_row,
                )
                .optional()
            })
            .await
            .map_err(unavailable)
    }
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<StoredUser> {
    Ok(StoredUser {
        user: User {
            id: r.get(0)?,
            name: r.get(1)?,
            company: r.get(2)?,
            email: r.get(3)?,
        },
        password_hash: r.get(4)?,
    })
}

fn unavailable(e: StoreError) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

#[async_trait]
impl UserRepository for SqliteUsers {
    async fn create(&self, user: &StoredUser, event: &Outgoing) -> Result<(), RepoError> {
        let (u, event) = (user.clone(), event.clone());
        self.db
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO users (id, name, company, email, password_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    u.user.id,
                    u.user.name,
                    u.user.company,
                    u.user.email,
                    u.password_hash
                ])?;
                outbox::sqlite::enqueue(tx, &event)
            })
            .await
            .map_err(|e| e.unique_or(RepoError::DuplicateEmail, unavailable))?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<StoredUser>, RepoError> {
        self.one("id", id).await
    }

    async fn by_email(&self, email: &str) -> Result<Option<StoredUser>, RepoError> {
        self.one("email", email).await
    }

    async fn list(&self, page: &PageRequest<String>) -> Result<Vec<StoredUser>, RepoError> {
        let after = page.after.clone().unwrap_or_default();
        let limit = i64::try_from(page.fetch()).unwrap_or(i64::MAX);
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM users WHERE id > ?1 ORDER BY id LIMIT ?2"
                ))?;
                let rows = stmt.query_map(params![after, limit], from_row)?;
                rows.collect()
            })
            .await
            .map_err(unavailable)
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(SqliteOutbox::new(self.db.clone()))
    }
}
