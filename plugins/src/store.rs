//! SQLite plumbing shared by every embedded adapter and repository: one file per owner,
//! WAL mode so several processes can share it, schema migrations, and blocking calls moved
//! off the async runtime.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

/// What can go wrong talking to a SQLite store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database answered with an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The blocking task running the statement died.
    #[error("store task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// True when the statement broke a UNIQUE or PRIMARY KEY constraint.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    }
}

/// A SQLite database file opened in WAL mode, safe to share between tasks and processes.
///
/// Statements run on tokio's blocking pool through [`SqliteDb::call`]; one connection per
/// handle keeps writes serialised, which is what SQLite does anyway.
#[derive(Clone)]
pub struct SqliteDb {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb").finish_non_exhaustive()
    }
}

impl SqliteDb {
    /// Opens (creating if needed) the database at `path`, creating its parent directory, and
    /// applies `schema` (idempotent `CREATE ... IF NOT EXISTS` statements).
    pub fn open(path: &Path, schema: &str) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Task(format!("cannot create {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(schema)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves the connection itself usable.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard).map_err(StoreError::from)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_handle_on_the_same_file_sees_committed_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/db.sqlite");
        let schema = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY);";
        let a = SqliteDb::open(&path, schema).unwrap();
        let b = SqliteDb::open(&path, schema).unwrap();
        a.call(|c| c.execute("INSERT INTO t VALUES ('x')", []))
            .await
            .unwrap();
        let n: i64 = b
            .call(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(n, 1);
        let dup = a
            .call(|c| c.execute("INSERT INTO t VALUES ('x')", []))
            .await
            .unwrap_err();
        assert!(dup.is_unique_violation(), "{dup}");
    }
}
