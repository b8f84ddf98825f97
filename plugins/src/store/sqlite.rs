//! SQLite plumbing shared by every embedded adapter and repository: one file per owner,
//! WAL mode so several processes can share it, schema migrations, short reads and writes on
//! the calling thread when nothing stands in their way, and the rest on the blocking pool.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, Transaction, TransactionBehavior};

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

    /// `duplicate` when the statement broke a UNIQUE or PRIMARY KEY constraint, else what
    /// `other` makes of the error: how a repository's insert says "already there".
    pub fn unique_or<E>(self, duplicate: E, other: impl FnOnce(Self) -> E) -> E {
        if self.is_unique_violation() {
            duplicate
        } else {
            other(self)
        }
    }
}

/// How long opening a database keeps retrying while other processes hold it locked.
pub const OPEN_RETRY_FOR: Duration = Duration::from_secs(10);

/// How long a statement waits for another process's write lock before it fails. Writes are
/// tiny, so this is only reached when something holds the file; it is shorter than the
/// callers' deadline, so a locked store answers UNAVAILABLE (503) rather than a timeout.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

fn open_once(path: &Path, schema: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // SQLite's own checkpoint runs inside the commit that crosses 1,000 WAL pages and syncs
    // both files; writes run on the request's thread, so [`SqliteDb::write`] asks for one
    // on the blocking pool instead, every [`CHECKPOINT_EVERY`] commits.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // Every statement a repository, outbox or broker runs is prepared once per connection
    // (`prepare_cached`) rather than parsed again on every call; room for all of them.
    conn.set_prepared_statement_cache_capacity(64);
    // Plans do not depend on the values bound. Without this, SQLite (3.50) plans a
    // `LIMIT ?` with the value bound at the time and marks the statement to be compiled
    // again whenever that parameter is bound anew, which a cached statement is at every
    // call: the relay's outbox read and the consumer's fetch were parsed and planned again
    // each time (5 % of vessel-service's CPU under bookings). No statement here relies on
    // a bound value's plan (there are no `ANALYZE` statistics to use one with).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    // IMMEDIATE takes the write lock up front, where the busy timeout applies.
    conn.execute_batch(&format!("BEGIN IMMEDIATE; {schema} COMMIT;"))?;
    Ok(conn)
}

/// Brings a database from an older release up to date: when `table` exists without
/// `column`, runs `migration` under the write lock, once. A new file needs nothing (the
/// schema makes it whole). Answers whether the migration ran.
pub fn migrate_if_missing(
    path: &Path,
    table: &str,
    column: &str,
    migration: &str,
) -> rusqlite::Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let columns: Vec<String> = tx
        .prepare("SELECT name FROM pragma_table_info(?1)")?
        .query_map([table], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let due = !columns.is_empty() && !columns.iter().any(|c| c == column);
    if due {
        tx.execute_batch(migration)?;
    }
    tx.commit()?;
    Ok(due)
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// How many commits through one handle between two checkpoints (each commit here writes a
/// few pages; SQLite's default is a checkpoint per 1,000).
pub const CHECKPOINT_EVERY: u32 = 256;

/// A SQLite database file opened in WAL mode, safe to share between tasks and processes.
///
/// One connection per handle keeps writes serialised, which is what SQLite does anyway.
/// Three ways in: [`read`](Self::read) for a short read and [`write`](Self::write) for a
/// transaction, both on the calling thread when nothing stands in their way, and
/// [`call`](Self::call) for scans, on tokio's blocking pool. Every write goes through
/// `write`, which also keeps the WAL checkpointed.
#[derive(Clone)]
pub struct SqliteDb {
    conn: Arc<Mutex<Connection>>,
    /// Commits since the last checkpoint was asked for.
    commits: Arc<AtomicU32>,
    /// Told after each commit of a write that enqueued outbox entries: its relay's wake-up.
    enqueued: Arc<tokio::sync::Notify>,
}

thread_local! {
    /// Whether the transaction running on this thread enqueued outbox entries
    /// ([`mark_enqueued`]); a transaction and its commit run on one thread.
    static ENQUEUED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Notes that the transaction running on this thread enqueued outbox entries, so its commit
/// wakes the relay ([`SqliteDb::enqueued`]).
pub(crate) fn mark_enqueued() {
    ENQUEUED.set(true);
}

/// What trying a write on the calling thread came to.
enum Now<T, F> {
    Done(rusqlite::Result<(T, bool)>),
    /// The connection is in use here, or another process holds the file's write lock: `f`
    /// is still to run, where waiting is fine.
    Locked(F),
}

/// Runs `f` in an IMMEDIATE transaction that commits when it answers `Ok`; also answers
/// whether what committed enqueued outbox entries.
fn in_transaction<T>(
    tx: Transaction<'_>,
    f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<(T, bool)> {
    ENQUEUED.set(false);
    let value = f(&tx)?;
    tx.commit()?;
    Ok((value, ENQUEUED.replace(false)))
}

/// Runs `f` in a transaction on this thread if the write lock is free this instant, without
/// waiting for it. Once it is taken nothing else can make a WAL writer wait, so `f` and the
/// commit do not.
fn write_now<T, F>(conn: &mut Connection, f: F) -> Now<T, F>
where
    F: FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
{
    if let Err(e) = conn.busy_timeout(Duration::ZERO) {
        return Now::Done(Err(e));
    }
    let refused = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => {
            return Now::Done(
                tx.busy_timeout(BUSY_TIMEOUT)
                    .and_then(|()| in_transaction(tx, f)),
            );
        }
        Err(e) => e,
    };
    let restored = conn.busy_timeout(BUSY_TIMEOUT);
    if is_busy(&refused) {
        Now::Locked(f)
    } else {
        Now::Done(restored.and(Err(refused)))
    }
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb").finish_non_exhaustive()
    }
}

impl SqliteDb {
    /// Opens (creating if needed) the database at `path`, creating its parent directory, and
    /// applies `schema` (idempotent `CREATE ... IF NOT EXISTS` statements).
    ///
    /// Several processes may open one new file at the same moment (`make run` starts five);
    /// switching it to WAL can then answer "database is locked" without waiting, so opening
    /// is retried for up to [`OPEN_RETRY_FOR`].
    pub fn open(path: &Path, schema: &str) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Task(format!("cannot create {}: {e}", dir.display())))?;
        }
        let deadline = Instant::now() + OPEN_RETRY_FOR;
        let conn = loop {
            match open_once(path, schema) {
                Ok(conn) => break conn,
                Err(e) if is_busy(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(e.into()),
            }
        };
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            commits: Arc::new(AtomicU32::new(0)),
            enqueued: Arc::default(),
        })
    }

    /// Runs `f` in a transaction (IMMEDIATE: the write lock is taken first; committed when
    /// `f` answers `Ok`, rolled back when it fails). It runs on the calling thread when the
    /// connection and the file's write lock are both free, as they nearly always are: a
    /// write of a few rows takes tens of microseconds (synchronous = NORMAL: no sync at
    /// commit), less than the hand-off to the blocking pool and back, which was a quarter of
    /// a booking's CPU (docs/performance.md). When another process holds the lock, it
    /// waits for it on the blocking pool as [`call`](Self::call) does, so the runtime
    /// thread is never held by a wait.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> rusqlite::Result<T> + Send + 'static,
    {
        let now = match self.conn.try_lock() {
            Ok(mut guard) => write_now(&mut guard, f),
            Err(std::sync::TryLockError::Poisoned(p)) => write_now(&mut p.into_inner(), f),
            Err(std::sync::TryLockError::WouldBlock) => Now::Locked(f),
        };
        let written = match now {
            Now::Done(result) => result.map_err(StoreError::from),
            Now::Locked(f) => {
                self.call(move |c| {
                    in_transaction(
                        c.transaction_with_behavior(TransactionBehavior::Immediate)?,
                        f,
                    )
                })
                .await
            }
        };
        let (value, enqueued) = written?;
        self.committed();
        if enqueued {
            self.enqueued.notify_one();
        }
        Ok(value)
    }

    /// Told after each commit of a write that enqueued outbox entries
    /// ([`crate::outbox::sqlite::enqueue`]): the relay waits on it, so no caller wakes it.
    pub fn enqueued(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.enqueued)
    }

    /// Counts a commit, and every [`CHECKPOINT_EVERY`] asks for a checkpoint on the blocking
    /// pool (PASSIVE: it copies what no reader still needs, and waits for nobody).
    fn committed(&self) {
        if self.commits.fetch_add(1, Ordering::Relaxed) + 1 < CHECKPOINT_EVERY {
            return;
        }
        self.commits.store(0, Ordering::Relaxed);
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(%error, "WAL checkpoint failed; the next one will try again");
            }
        });
    }

    /// Runs a short read `f` on the calling thread when the connection is free, else as
    /// [`call`](Self::call) does. An indexed read takes a few microseconds, far less than
    /// handing it to the blocking pool and back (two thread wake-ups: measured, most of
    /// FindAvailable's cost on a single-core service). WAL readers do not wait for writers,
    /// so this does not hold the runtime thread for long; keep scans on `call`.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let f = match self.conn.try_lock() {
            Ok(mut guard) => return f(&mut guard).map_err(StoreError::from),
            Err(std::sync::TryLockError::Poisoned(p)) => {
                return f(&mut p.into_inner()).map_err(StoreError::from);
            }
            Err(std::sync::TryLockError::WouldBlock) => f,
        };
        self.call(f).await
    }

    /// Runs `f` with the connection on the blocking pool, inside the caller's span (so what
    /// it logs belongs to the request): for scans and reads of many rows. Writes go through
    /// [`write`](Self::write).
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _in = span.enter();
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

    #[test]
    fn many_processes_opening_one_new_file_at_once_all_succeed() {
        for round in 0..10 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("fresh.db");
            let schema = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY);
                          CREATE INDEX IF NOT EXISTS tk ON t (k);";
            // Half of them also read and write at once, as running services would.
            let openers: Vec<_> = (0..8)
                .map(|i| {
                    let path = path.clone();
                    std::thread::spawn(move || {
                        let db = SqliteDb::open(&path, schema)?;
                        let conn = db.conn.lock().unwrap();
                        for n in 0..20 * (i % 2) {
                            conn.execute("INSERT OR REPLACE INTO t VALUES (?1)", [n])?;
                            conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0))?;
                        }
                        Ok::<(), StoreError>(())
                    })
                })
                .collect();
            for opener in openers {
                let opened = opener.join().unwrap();
                assert!(opened.is_ok(), "round {round}: {opened:?}");
            }
        }
    }

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

    /// A cached statement with a bound `LIMIT` runs again as compiled, whatever is bound.
    #[tokio::test]
    async fn a_cached_statement_is_not_compiled_again_when_its_limit_changes() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(
            &dir.path().join("db"),
            "CREATE TABLE t (k INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);",
        )
        .unwrap();
        let (got, recompiled) = db
            .read(|c| {
                let mut got = Vec::new();
                for limit in [1, 2, 3, 1, 2] {
                    let mut stmt = c.prepare_cached("SELECT k FROM t ORDER BY k LIMIT ?1")?;
                    let rows = stmt.query_map([limit], |r| r.get::<_, i64>(0))?;
                    got.push(rows.collect::<rusqlite::Result<Vec<_>>>()?.len());
                }
                let stmt = c.prepare_cached("SELECT k FROM t ORDER BY k LIMIT ?1")?;
                Ok((got, stmt.get_status(rusqlite::StatementStatus::RePrepare)))
            })
            .await
            .unwrap();
        assert_eq!(got, [1, 2, 3, 1, 2], "each limit holds");
        assert_eq!(recompiled, 0, "the statement was compiled again");
    }

    async fn count(db: &SqliteDb) -> i64 {
        db.call(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_write_commits_what_it_did_when_it_succeeds_and_nothing_when_it_fails() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(
            &dir.path().join("db"),
            "CREATE TABLE t (k TEXT PRIMARY KEY);",
        )
        .unwrap();
        db.write(|tx| tx.execute("INSERT INTO t VALUES ('a')", []))
            .await
            .unwrap();
        let failed = db
            .write(|tx| {
                tx.execute("INSERT INTO t VALUES ('b')", [])?;
                tx.execute("INSERT INTO t VALUES ('a')", [])
            })
            .await
            .unwrap_err();
        assert!(failed.is_unique_violation(), "{failed}");
        assert_eq!(count(&db).await, 1, "'b' went with the failed write");
    }

    /// While another process holds the write lock, a write waits for it on the blocking
    /// pool: the runtime thread (the only one here) goes on serving other tasks.
    #[tokio::test]
    async fn a_write_waits_for_another_process_lock_without_holding_the_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = SqliteDb::open(&path, "CREATE TABLE t (k TEXT PRIMARY KEY);").unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();

        let writing = tokio::spawn({
            let db = db.clone();
            async move {
                db.write(|tx| tx.execute("INSERT INTO t VALUES ('a')", []))
                    .await
            }
        });
        // Had the write waited on this thread, this sleep would end after the busy timeout,
        // and the write with it, refused.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !writing.is_finished(),
            "the write waits while the lock is held"
        );
        other.execute_batch("COMMIT").unwrap();
        writing.await.unwrap().unwrap();
        assert_eq!(count(&db).await, 1);
    }

    /// SQLite's automatic checkpoint is off on these connections, so the WAL stays small
    /// only because `write` asks for checkpoints: without them these 3,000 commits leave a
    /// WAL several times the bound (this fails with `CHECKPOINT_EVERY` at `u32::MAX`).
    #[tokio::test]
    async fn the_wal_stays_small_as_writes_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let db = SqliteDb::open(&path, "CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT);").unwrap();
        for k in 0..3_000 {
            let k = format!("{k:05}");
            db.write(move |tx| tx.execute("INSERT INTO t VALUES (?1, 'value')", [k]))
                .await
                .unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("db-wal")).unwrap().len();
        assert!(wal < 8 << 20, "the WAL grew to {wal} bytes");
        assert_eq!(count(&db).await, 3_000);
    }
}
