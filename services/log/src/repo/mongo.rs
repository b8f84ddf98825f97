//! The event store on MongoDB: collection `events`, one plain document per event with the
//! event id as `_id` (so a redelivery is a duplicate key, not a second copy), indexed by
//! user and time.

use async_trait::async_trait;
use mongodb::bson::{Document, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use shippy_common::paging::PageRequest;
use shippy_plugins::store::mongo::{after_key, is_duplicate_key};

use shippy_common::events::Detail;

use super::{Event, EventKey, Filter, LogRepository, RepoError};

#[derive(Debug, Serialize, Deserialize)]
struct EventDoc {
    #[serde(rename = "_id")]
    id: String,
    origin: String,
    method: String,
    message: String,
    user_id: String,
    time_unix_ms: i64,
    /// Absent on events stored before details.
    #[serde(default)]
    subject: String,
    #[serde(default)]
    sequence: i64,
    /// The typed detail as a subdocument: `{type: "consignment_booked", ...}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<Detail>,
}

/// A [`LogRepository`] on MongoDB.
#[derive(Clone, Debug)]
pub struct MongoLogs {
    events: Collection<EventDoc>,
}

fn unavailable(e: mongodb::error::Error) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

impl MongoLogs {
    /// The `events` collection of `db`, with its index created.
    pub async fn open(db: &Database) -> Result<Self, RepoError> {
        let events = db.collection::<EventDoc>("events");
        let by_user_time = IndexModel::builder()
            // Ascending, walked backwards for newest first: the same plan for MongoDB, and
            // the one the MongoDB-wire test server ranges correctly over (it misses rows of a
            // time range on a compound index with a descending key).
            .keys(doc! { "user_id": 1, "time_unix_ms": 1, "sequence": 1, "_id": 1 })
            .build();
        events
            .create_index(by_user_time)
            .await
            .map_err(unavailable)?;
        // For the retention's trim, which deletes by time alone.
        let by_time = IndexModel::builder()
            .keys(doc! { "time_unix_ms": 1 })
            .build();
        events.create_index(by_time).await.map_err(unavailable)?;
        Ok(Self { events })
    }
}

fn query(f: &Filter) -> Document {
    let mut q = doc! { "user_id": &f.user_id };
    if let Some(origin) = &f.origin {
        q.insert("origin", origin);
    }
    let mut time = Document::new();
    if let Some(since) = f.since_unix_ms {
        time.insert("$gte", since);
    }
    if let Some(until) = f.until_unix_ms {
        time.insert("$lt", until);
    }
    if !time.is_empty() {
        q.insert("time_unix_ms", time);
    }
    q
}

#[async_trait]
impl LogRepository for MongoLogs {
    async fn insert(&self, e: &Event) -> Result<bool, RepoError> {
        let document = EventDoc {
            id: e.id.clone(),
            origin: e.origin.clone(),
            method: e.method.clone(),
            message: e.message.clone(),
            user_id: e.user_id.clone(),
            time_unix_ms: e.time_unix_ms,
            subject: e.subject.clone(),
            sequence: e.sequence,
            detail: e.detail.clone(),
        };
        match self.events.insert_one(document).await {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate_key(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn trim(&self, before_ms: i64) -> Result<u64, RepoError> {
        let gone = self
            .events
            .delete_many(doc! { "time_unix_ms": { "$lt": before_ms } })
            .await
            .map_err(unavailable)?;
        Ok(gone.deleted_count)
    }

    async fn list(
        &self,
        filter: &Filter,
        page: &PageRequest<EventKey>,
    ) -> Result<Vec<Event>, RepoError> {
        // One flat filter (no `$and`), which every MongoDB-wire server plans on its index.
        let mut q = query(filter);
        if let Some((time, sequence, id)) = &page.after {
            q.extend(after_key(
                &[
                    ("time_unix_ms", (*time).into()),
                    ("sequence", (*sequence).into()),
                    ("_id", id.clone().into()),
                ],
                false,
            ));
        }
        let mut cursor = self
            .events
            .find(q)
            .sort(doc! { "time_unix_ms": -1, "sequence": -1, "_id": -1 })
            .limit(i64::try_from(page.fetch()).unwrap_or(i64::MAX))
            .await
            .map_err(unavailable)?;
        let mut out = Vec::new();
        while cursor.advance().await.map_err(unavailable)? {
            let d = cursor.deserialize_current().map_err(unavailable)?;
            out.push(Event {
                id: d.id,
                origin: d.origin,
                method: d.method,
                message: d.message,
                user_id: d.user_id,
                time_unix_ms: d.time_unix_ms,
                subject: d.subject,
                sequence: d.sequence,
                detail: d.detail,
            });
        }
        Ok(out)
    }
}
