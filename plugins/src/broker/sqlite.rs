//! The embedded broker: a durable topic log in one SQLite file shared by every process.
//! Consumers poll for rows after their group's committed offset.
//!
//! A topic here is one partition, so a group works as a Kafka group does with one: one
//! member at a time holds the topic for the group (a lease in the file, renewed as it
//! polls) and gets every message; the others wait. When the holder stops (it gives the
//! lease up when dropped, or the lease runs out after [`LEASE`] when it dies), another
//! member takes over from the group's committed offset: each message goes to one member.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{Broker, BrokerError, Delivery, Message, Subscription};
use crate::now_unix_ms;
use crate::store::SqliteDb;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS messages (
    offset     INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT NOT NULL,
    key        TEXT NOT NULL,
    headers    TEXT NOT NULL,
    payload    BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_topic ON messages (topic, offset);
CREATE TABLE IF NOT EXISTS group_offsets (
    grp    TEXT NOT NULL,
    topic  TEXT NOT NULL,
    offset INTEGER NOT NULL,
    committed_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (grp, topic)
);
CREATE TABLE IF NOT EXISTS group_holders (
    grp      TEXT NOT NULL,
    topic    TEXT NOT NULL,
    member   TEXT NOT NULL,
    until_ms INTEGER NOT NULL,
    PRIMARY KEY (grp, topic)
);";

/// How long a member holds a topic for its group without polling; a member that dies is
/// replaced within this.
pub const LEASE: Duration = Duration::from_secs(3);

/// How long an idle consumer waits before looking for new rows again.
const IDLE_POLL: Duration = Duration::from_millis(50);
/// How many rows a consumer fetches at once.
const BATCH: i64 = 256;

/// A [`Broker`] on a SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteBroker {
    db: SqliteDb,
}

impl SqliteBroker {
    /// Opens (or creates) the topic log at `path`.
    pub fn open(path: &Path) -> Result<Self, BrokerError> {
        // Group offsets from before retention count as committed now.
        crate::store::migrate_if_missing(
            path,
            "group_offsets",
            "committed_ms",
            "ALTER TABLE group_offsets ADD COLUMN committed_ms INTEGER NOT NULL DEFAULT 0;
             UPDATE group_offsets SET committed_ms = CAST(strftime('%s', 'now') AS INTEGER) * 1000;",
        )
        .map_err(|e| BrokerError::Unavailable(e.to_string()))?;
        Ok(Self {
            db: SqliteDb::open(path, SCHEMA)?,
        })
    }

    /// Trims every topic as `retention` says, as of `now_ms`: answers how many messages
    /// went. See [`Retention`].
    pub async fn trim(&self, retention: &Retention, now_ms: i64) -> Result<u64, BrokerError> {
        let retention = retention.clone();
        let topics: Vec<String> = self
            .db
            .read(|c| {
                c.prepare_cached("SELECT DISTINCT topic FROM messages")?
                    .query_map([], |r| r.get(0))?
                    .collect()
            })
            .await?;
        let mut gone = 0;
        for topic in topics {
            let keep_ms = retention.keep_ms(&topic);
            let floored = retention.floors.contains_key(&topic);
            let (r, t) = (retention.clone(), topic.clone());
            // The last offset that may go: the oldest past the age and past the size, but
            // never one a live group has not committed yet.
            let upto: i64 = self
                .db
                .read(move |c| {
                    let newest: i64 = c
                        .prepare_cached(
                            "SELECT coalesce(max(offset), 0) FROM messages WHERE topic = ?1",
                        )?
                        .query_row(params![t], |row| row.get(0))?;
                    // From the oldest, up to the first young enough: messages arrive in
                    // time order, so this reads only what is about to go.
                    let young: Option<i64> = c
                        .prepare_cached(
                            "SELECT offset FROM messages WHERE topic = ?1 AND created_at >= ?2
                             ORDER BY offset LIMIT 1",
                        )?
                        .query_row(params![t, now_ms - keep_ms], |row| row.get(0))
                        .optional()?;
                    let by_age = young.map_or(newest, |first| first - 1);
                    // Offsets count across topics: the newest `max_messages` of this one are
                    // found by walking back from its newest.
                    let kept = i64::try_from(r.max_messages).unwrap_or(i64::MAX);
                    let by_size: i64 = c
                        .prepare_cached(
                            "SELECT offset FROM messages WHERE topic = ?1
                             ORDER BY offset DESC LIMIT 1 OFFSET ?2",
                        )?
                        .query_row(params![t, kept], |row| row.get(0))
                        .optional()?
                        .unwrap_or(0);
                    let pinned: Option<i64> = c
                        .prepare_cached(
                            "SELECT min(offset) FROM group_offsets
                             WHERE topic = ?1 AND committed_ms >= ?2",
                        )?
                        .query_row(params![t, now_ms - r.group_expiry_ms()], |row| row.get(0))?;
                    // A topic with a floor (the log-outs) keeps everything younger than it,
                    // however many: the size never cuts into it.
                    let due = if floored { by_age } else { by_age.max(by_size) };
                    Ok(pinned.map_or(due, |p| due.min(p)))
                })
                .await?;
            // In slices, so no write holds the file for long.
            loop {
                let t = topic.clone();
                let deleted = self
                    .db
                    .write(move |tx| {
                        tx.prepare_cached(
                            "DELETE FROM messages WHERE offset IN (
                                 SELECT offset FROM messages WHERE topic = ?1 AND offset <= ?2
                                 ORDER BY offset LIMIT ?3)",
                        )?
                        .execute(params![t, upto, TRIM_SLICE])
                    })
                    .await?;
                gone += deleted as u64;
                if deleted < usize::try_from(TRIM_SLICE).unwrap_or(usize::MAX) {
                    break;
                }
            }
        }
        // Groups gone quiet for the age of a topic pin nothing any more, and are forgotten.
        let expired = now_ms - retention.group_expiry_ms();
        self.db
            .write(move |tx| {
                tx.prepare_cached("DELETE FROM group_offsets WHERE committed_ms < ?1")?
                    .execute(params![expired])?;
                tx.prepare_cached("DELETE FROM group_holders WHERE until_ms < ?1")?
                    .execute(params![expired])
            })
            .await?;
        Ok(gone)
    }

    /// Trims the topics every [`TRIM_EVERY`] for as long as the broker is in use (every
    /// process that opens the file does: a trim is idempotent).
    pub fn keep_trimmed(&self, retention: Retention) {
        let broker = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(TRIM_EVERY);
            loop {
                every.tick().await;
                match broker.trim(&retention, now_unix_ms()).await {
                    Ok(0) => {}
                    Ok(gone) => tracing::info!(gone, "trimmed the embedded broker's topics"),
                    Err(error) => tracing::warn!(%error, "cannot trim the embedded broker"),
                }
            }
        });
    }
}

/// How much of each topic the embedded broker keeps, as Kafka's retention does: messages
/// younger than `max_age`, at most `max_messages` of them, and whatever a consumer group
/// that committed within `max_age` has not committed yet. Some topics keep longer
/// (`floors`): the log-outs must outlive the tokens they revoke.
#[derive(Clone, Debug)]
pub struct Retention {
    pub max_age: Duration,
    pub max_messages: u64,
    /// Topics that keep at least this long, whatever `max_age` says.
    pub floors: BTreeMap<String, Duration>,
}

impl Retention {
    fn keep_ms(&self, topic: &str) -> i64 {
        let floor = self.floors.get(topic).copied().unwrap_or_default();
        i64::try_from(self.max_age.max(floor).as_millis()).unwrap_or(i64::MAX)
    }

    /// A group that has committed nothing for this long is forgotten (Kafka's
    /// `offsets.retention.minutes` does the same): the longest any topic keeps.
    fn group_expiry_ms(&self) -> i64 {
        let longest = self
            .floors
            .values()
            .copied()
            .fold(self.max_age, Duration::max);
        i64::try_from(longest.as_millis()).unwrap_or(i64::MAX)
    }
}

/// `messaging.system` of this broker: OpenTelemetry lists no value for a broker on a SQLite
/// file of one's own, so it is named after the project.
pub const SYSTEM: &str = "shippy_sqlite";

/// How often each process trims the embedded broker.
pub const TRIM_EVERY: Duration = Duration::from_secs(60);
/// Messages deleted by one write.
const TRIM_SLICE: i64 = 10_000;

#[async_trait]
impl Broker for SqliteBroker {
    fn system(&self) -> &'static str {
        SYSTEM
    }

    async fn publish(&self, topic: &str, message: Message) -> Result<(), BrokerError> {
        self.publish_all(vec![(topic.to_owned(), message)]).await
    }

    /// One transaction for the lot.
    async fn publish_all(&self, messages: Vec<(String, Message)>) -> Result<(), BrokerError> {
        self.db
            .write(move |tx| {
                let mut insert = tx.prepare_cached(
                    "INSERT INTO messages (topic, key, headers, payload, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                let now = now_unix_ms();
                for (topic, m) in &messages {
                    let headers = serde_json::to_string(&m.headers).unwrap_or_else(|_| "{}".into());
                    insert.execute(params![topic, m.key, headers, m.payload, now])?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn subscribe(
        &self,
        topic: &str,
        group: &str,
    ) -> Result<Box<dyn Subscription>, BrokerError> {
        Ok(Box::new(self.member_of(topic, group, None)))
    }

    /// A group with nothing committed starts at the first message published at or after
    /// `since_unix_ms`, found from the newest backwards: a live feed reads nothing older.
    async fn subscribe_since(
        &self,
        topic: &str,
        group: &str,
        since_unix_ms: i64,
    ) -> Result<Box<dyn Subscription>, BrokerError> {
        Ok(Box::new(self.member_of(topic, group, Some(since_unix_ms))))
    }
}

impl SqliteBroker {
    /// A new member of `group` on `topic`, holding nothing yet.
    fn member_of(&self, topic: &str, group: &str, since: Option<i64>) -> SqliteSubscription {
        SqliteSubscription {
            db: self.db.clone(),
            topic: topic.to_owned(),
            group: group.to_owned(),
            member: uuid::Uuid::new_v4().to_string(),
            held_until: 0,
            position: 0,
            since,
            buffer: VecDeque::new(),
        }
    }
}

struct SqliteSubscription {
    db: SqliteDb,
    topic: String,
    group: String,
    /// This member's id in the group.
    member: String,
    /// Until when (Unix ms) this member holds the topic for its group; 0: it does not.
    held_until: i64,
    /// The offset of the last message handed out.
    position: i64,
    /// For a group with nothing committed: where to start, by publishing time (Unix ms).
    since: Option<i64>,
    buffer: VecDeque<Delivery>,
}

#[allow(clippy::cast_possible_wrap)]
const LEASE_MS: i64 = LEASE.as_millis() as i64;

impl SqliteSubscription {
    /// Whether this member holds the topic for its group, taking or renewing the lease when
    /// it is free, its own, or run out. On taking it, reading resumes after the group's
    /// committed offset.
    async fn hold(&mut self) -> Result<bool, BrokerError> {
        let now = now_unix_ms();
        if self.held_until - now > LEASE_MS / 2 {
            return Ok(true);
        }
        let (g, t, m) = (self.group.clone(), self.topic.clone(), self.member.clone());
        let since = self.since;
        let until = now + LEASE_MS;
        let (held, committed) = self
            .db
            .write(move |tx| {
                let held = tx
                    .prepare_cached(
                        "INSERT INTO group_holders (grp, topic, member, until_ms)
                         VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (grp, topic) DO UPDATE SET member = ?3, until_ms = ?4
                         WHERE member = ?3 OR until_ms < ?5",
                    )?
                    .execute(params![g, t, m, until, now])?
                    == 1;
                let mut committed: i64 = tx
                    .prepare_cached(
                        "SELECT coalesce(max(offset), 0) FROM group_offsets
                         WHERE grp = ?1 AND topic = ?2",
                    )?
                    .query_row(params![g, t], |r| r.get(0))?;
                if committed == 0
                    && let Some(since) = since
                {
                    // The newest message published before `since`, walking back from the
                    // newest: as many rows as arrived since then.
                    committed = tx
                        .prepare_cached(
                            "SELECT offset FROM messages WHERE topic = ?1 AND created_at < ?2
                             ORDER BY offset DESC LIMIT 1",
                        )?
                        .query_row(params![t, since], |r| r.get(0))
                        .optional()?
                        .unwrap_or(0);
                }
                Ok((held, committed))
            })
            .await?;
        if !held {
            self.held_until = 0;
            self.buffer.clear();
        } else {
            if self.held_until < now {
                // Taken (again): what was handed out before but not committed comes again.
                self.position = committed;
                self.buffer.clear();
            }
            self.held_until = until;
        }
        Ok(held)
    }
}

impl SqliteSubscription {
    async fn fetch(&mut self) -> Result<(), BrokerError> {
        let (topic, after) = (self.topic.clone(), self.position);
        // At most BATCH rows by the topic's index: short enough to read on the calling thread.
        let rows = self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT offset, key, headers, payload FROM messages
                     WHERE topic = ?1 AND offset > ?2 ORDER BY offset LIMIT ?3",
                )?;
                let rows = stmt.query_map(params![topic, after, BATCH], |r| {
                    let headers: String = r.get(2)?;
                    Ok((
                        r.get::<_, i64>(0)?,
                        Message {
                            key: r.get(1)?,
                            headers: serde_json::from_str::<BTreeMap<_, _>>(&headers)
                                .unwrap_or_default(),
                            payload: r.get(3)?,
                        },
                    ))
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        for (offset, message) in rows {
            self.buffer.push_back(Delivery {
                topic: self.topic.clone(),
                partition: 0,
                offset,
                message,
            });
        }
        Ok(())
    }
}

#[async_trait]
impl Subscription for SqliteSubscription {
    fn system(&self) -> &'static str {
        SYSTEM
    }

    fn group(&self) -> &str {
        &self.group
    }

    async fn next(&mut self) -> Result<Delivery, BrokerError> {
        loop {
            if !self.hold().await? {
                tokio::time::sleep(IDLE_POLL).await;
                continue;
            }
            if let Some(delivery) = self.buffer.pop_front() {
                self.position = delivery.offset;
                return Ok(delivery);
            }
            self.fetch().await?;
            if self.buffer.is_empty() {
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }

    /// The next message and the rest of the fetched batch after it.
    async fn next_batch(&mut self, max: usize) -> Result<Vec<Delivery>, BrokerError> {
        let mut batch = vec![self.next().await?];
        while batch.len() < max
            && let Some(delivery) = self.buffer.pop_front()
        {
            self.position = delivery.offset;
            batch.push(delivery);
        }
        Ok(batch)
    }

    async fn caught_up(&mut self) -> Result<bool, BrokerError> {
        if !self.hold().await? || !self.buffer.is_empty() {
            return Ok(false);
        }
        let topic = self.topic.clone();
        let last: i64 = self
            .db
            .read(move |c| {
                c.prepare_cached("SELECT coalesce(max(offset), 0) FROM messages WHERE topic = ?1")?
                    .query_row(params![topic], |r| r.get(0))
            })
            .await?;
        Ok(last <= self.position)
    }

    async fn commit(&mut self, delivery: &Delivery) -> Result<(), BrokerError> {
        let (g, t, offset) = (self.group.clone(), self.topic.clone(), delivery.offset);
        self.db
            .write(move |c| {
                c.prepare_cached(
                    "INSERT INTO group_offsets (grp, topic, offset, committed_ms)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (grp, topic)
                     DO UPDATE SET offset = max(offset, ?3), committed_ms = ?4",
                )?
                .execute(params![g, t, offset, now_unix_ms()])
            })
            .await?;
        Ok(())
    }
}

impl Drop for SqliteSubscription {
    /// Gives the topic up at once, so another member of the group takes over without
    /// waiting for the lease to run out.
    fn drop(&mut self) {
        if self.held_until == 0 {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (db, g, t, m) = (
            self.db.clone(),
            self.group.clone(),
            self.topic.clone(),
            self.member.clone(),
        );
        runtime.spawn(async move {
            let _ = db
                .write(move |c| {
                    c.prepare_cached(
                        "DELETE FROM group_holders WHERE grp = ?1 AND topic = ?2 AND member = ?3",
                    )?
                    .execute(params![g, t, m])
                })
                .await;
        });
    }
}
