//! The consignment store on MongoDB: collection `consignments`, one plain document per
//! consignment with its containers and saga steps embedded, indexed by owner, by owner and
//! idempotency key (unique), and by unfinished status.
//!
//! Every saga step is one single-document write with its event inside the document (an
//! [`EmbeddedOutbox`]), never a multi-document transaction: a process killed mid-write
//! leaves no transaction holding the booking's locks on the server, so the next instance
//! resumes it as soon as `saga.stale_secs` has passed.

use std::sync::Arc;

use async_trait::async_trait;
use mongodb::bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use shippy_plugins::outbox::{EmbeddedOutbox, MongoOutbox, Outbox, Outgoing};
use shippy_plugins::store::mongo::{after_key, is_duplicate_key};

use shippy_common::paging::PageRequest;

use super::{ConsignmentRepository, Listed, RepoError};
use crate::domain::{Consignment, ConsignmentFilter, ConsignmentKey, Container, Status, Step};

#[derive(Debug, Serialize, Deserialize)]
struct ConsignmentDoc {
    #[serde(rename = "_id")]
    id: String,
    user_id: String,
    description: String,
    weight: i32,
    vessel_id: String,
    status: String,
    created_at: String,
    containers: Vec<Container>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    steps: Vec<Step>,
    /// Absent only in documents from before the booking saga, until `open` fills it in.
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    updated_ms: i64,
    /// Absent in documents from before backing off.
    #[serde(default)]
    attempts: u32,
    #[serde(default)]
    retry_at_ms: i64,
    /// Insertion time in unix nanoseconds, for newest-first order.
    stored_at_ns: i64,
}

impl From<&Consignment> for ConsignmentDoc {
    fn from(c: &Consignment) -> Self {
        ConsignmentDoc {
            id: c.id.clone(),
            user_id: c.user_id.clone(),
            description: c.description.clone(),
            weight: c.weight,
            vessel_id: c.vessel_id.clone(),
            status: c.status.as_str().to_owned(),
            created_at: c.created_at.clone(),
            containers: c.containers.clone(),
            reason: c.reason.clone(),
            steps: c.steps.clone(),
            idempotency_key: c.idempotency_key.clone(),
            updated_ms: c.updated_ms,
            attempts: c.attempts,
            retry_at_ms: c.retry_at_ms,
            stored_at_ns: now_ns(),
        }
    }
}

impl TryFrom<ConsignmentDoc> for Consignment {
    type Error = RepoError;

    fn try_from(d: ConsignmentDoc) -> Result<Self, RepoError> {
        Ok(Consignment {
            status: Status::parse(&d.status).ok_or_else(|| {
                RepoError::Unavailable(format!("consignment {} has status {:?}", d.id, d.status))
            })?,
            id: d.id,
            description: d.description,
            weight: d.weight,
            containers: d.containers,
            vessel_id: d.vessel_id,
            user_id: d.user_id,
            created_at: d.created_at,
            reason: d.reason,
            steps: d.steps,
            idempotency_key: d.idempotency_key,
            updated_ms: d.updated_ms,
            attempts: d.attempts,
            retry_at_ms: d.retry_at_ms,
        })
    }
}

/// A [`ConsignmentRepository`] on MongoDB.
#[derive(Clone, Debug)]
pub struct MongoConsignments {
    consignments: Collection<ConsignmentDoc>,
    outbox: EmbeddedOutbox,
}

fn unavailable(e: mongodb::error::Error) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

fn now_ns() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

impl MongoConsignments {
    /// The `consignments` collection of `db`, with its indexes created.
    pub async fn open(db: &Database) -> Result<Self, RepoError> {
        let consignments = db.collection::<ConsignmentDoc>("consignments");
        // Documents from before the saga get their id as their key, so keys stay unique.
        let old = doc! { "idempotency_key": { "$exists": false } };
        let mut cursor = consignments.find(old).await.map_err(unavailable)?;
        let mut ids = Vec::new();
        while cursor.advance().await.map_err(unavailable)? {
            ids.push(cursor.deserialize_current().map_err(unavailable)?.id);
        }
        for id in ids {
            let set = doc! { "$set": { "idempotency_key": format!("old-{id}") } };
            consignments
                .update_one(doc! { "_id": id }, set)
                .await
                .map_err(unavailable)?;
        }
        let indexes = [
            // Ascending, walked backwards for newest first (see the log service's index).
            IndexModel::builder()
                .keys(doc! { "user_id": 1, "stored_at_ns": 1, "_id": 1 })
                .build(),
            IndexModel::builder()
                .keys(doc! { "user_id": 1, "status": 1, "stored_at_ns": 1, "_id": 1 })
                .build(),
            IndexModel::builder()
                .keys(doc! { "user_id": 1, "idempotency_key": 1 })
                .options(IndexOptions::builder().unique(true).build())
                .build(),
            IndexModel::builder()
                .keys(doc! { "status": 1, "updated_ms": 1 })
                .build(),
            IndexModel::builder()
                .keys(doc! { "status": 1, "retry_at_ms": 1, "updated_ms": 1 })
                .build(),
        ];
        for index in indexes {
            consignments
                .create_index(index)
                .await
                .map_err(unavailable)?;
        }
        // Events enqueued on their own, and those left by versions that wrote a booking and its
        // event in a multi-document transaction, still wait in the collection beside.
        let beside = MongoOutbox::open(db, "consignments_outbox")
            .await
            .map_err(|e| RepoError::Unavailable(e.to_string()))?;
        let outbox = EmbeddedOutbox::open(&consignments, beside)
            .await
            .map_err(|e| RepoError::Unavailable(e.to_string()))?;
        Ok(Self {
            consignments,
            outbox,
        })
    }

    async fn many(
        &self,
        filter: Document,
        sort: Document,
        limit: Option<i64>,
    ) -> Result<Vec<Consignment>, RepoError> {
        let mut find = self.consignments.find(filter).sort(sort);
        if let Some(limit) = limit {
            find = find.limit(limit);
        }
        let mut cursor = find.await.map_err(unavailable)?;
        let mut out = Vec::new();
        while cursor.advance().await.map_err(unavailable)? {
            out.push(
                cursor
                    .deserialize_current()
                    .map_err(unavailable)?
                    .try_into()?,
            );
        }
        Ok(out)
    }

    async fn one(&self, filter: Document) -> Result<Option<Consignment>, RepoError> {
        let found = self
            .consignments
            .find_one(filter)
            .await
            .map_err(unavailable)?;
        found.map(Consignment::try_from).transpose()
    }

    /// The one write of a saga step: the guard (the booking is still at `from`), the step
    /// and its event, in one update of one document.
    async fn write_step(
        &self,
        from: Status,
        next: &Consignment,
        event: Option<&Outgoing>,
    ) -> mongodb::error::Result<bool> {
        let steps = mongodb::bson::to_bson(&next.steps)?;
        let mut update = doc! { "$set": {
            "status": next.status.as_str(),
            "vessel_id": &next.vessel_id,
            "reason": &next.reason,
            "steps": steps,
            "updated_ms": next.updated_ms,
            "attempts": i64::from(next.attempts),
            "retry_at_ms": next.retry_at_ms,
        } };
        if let Some(event) = event {
            EmbeddedOutbox::push_into(&mut update, event)?;
        }
        let moved = self
            .consignments
            .update_one(doc! { "_id": &next.id, "status": from.as_str() }, update)
            .await?;
        if event.is_some() && moved.matched_count > 0 {
            self.outbox.written();
        }
        Ok(moved.matched_count > 0)
    }

    async fn create_once(&self, c: &Consignment, event: &Outgoing) -> mongodb::error::Result<()> {
        let mut document = mongodb::bson::to_document(&ConsignmentDoc::from(c))?;
        document.extend(EmbeddedOutbox::insert_fields(event)?);
        self.consignments
            .clone_with_type::<Document>()
            .insert_one(document)
            .await?;
        self.outbox.written();
        Ok(())
    }
}

#[async_trait]
impl ConsignmentRepository for MongoConsignments {
    async fn create_within(
        &self,
        c: &Consignment,
        event: &Outgoing,
        most_open: u64,
    ) -> Result<(), RepoError> {
        if most_open > 0 {
            let open = doc! {
                "user_id": &c.user_id,
                "status": { "$in": ["pending", "rejecting", "cancelling", "failing"] },
            };
            let held = self
                .consignments
                .count_documents(open)
                .await
                .map_err(unavailable)?;
            if held >= most_open {
                return Err(RepoError::QuotaReached);
            }
        }
        self.create_once(c, event).await.map_err(|e| {
            if is_duplicate_key(&e) {
                RepoError::DuplicateKey
            } else {
                unavailable(e)
            }
        })
    }

    async fn get(&self, id: &str) -> Result<Option<Consignment>, RepoError> {
        self.one(doc! { "_id": id }).await
    }

    async fn by_key(&self, user_id: &str, key: &str) -> Result<Option<Consignment>, RepoError> {
        self.one(doc! { "user_id": user_id, "idempotency_key": key })
            .await
    }

    async fn advance(
        &self,
        from: Status,
        next: &Consignment,
        event: Option<&Outgoing>,
    ) -> Result<bool, RepoError> {
        // A single-document write: the driver retries it once on a passing network error.
        self.write_step(from, next, event)
            .await
            .map_err(unavailable)
    }

    async fn unfinished(
        &self,
        before_ms: i64,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<Consignment>, RepoError> {
        // Documents from before backing off have no retry_at_ms: due, and first.
        let filter = doc! {
            "status": { "$in": ["pending", "rejecting", "cancelling", "failing"] },
            "updated_ms": { "$lt": before_ms },
            "$or": [
                { "retry_at_ms": { "$lte": now_ms } },
                { "retry_at_ms": { "$exists": false } },
            ],
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.many(
            filter,
            doc! { "retry_at_ms": 1, "updated_ms": 1 },
            Some(limit),
        )
        .await
    }

    async fn defer(&self, id: &str, from: Status, next: &Consignment) -> Result<bool, RepoError> {
        let set = doc! { "$set": {
            "attempts": i64::from(next.attempts),
            "retry_at_ms": next.retry_at_ms,
        } };
        let moved = self
            .consignments
            .update_one(doc! { "_id": id, "status": from.as_str() }, set)
            .await
            .map_err(unavailable)?;
        Ok(moved.matched_count > 0)
    }

    async fn list(
        &self,
        filter: &ConsignmentFilter,
        page: &PageRequest<ConsignmentKey>,
    ) -> Result<Vec<Listed>, RepoError> {
        // One flat filter (no `$and`), which every MongoDB-wire server plans on its index.
        let mut query = doc! { "user_id": &filter.owner };
        if let Some(status) = filter.status {
            query.insert("status", status.as_str());
        }
        if let Some((stored_at_ns, id)) = &page.after {
            query.extend(after_key(
                &[
                    ("stored_at_ns", (*stored_at_ns).into()),
                    ("_id", id.clone().into()),
                ],
                false,
            ));
        }
        let mut cursor = self
            .consignments
            .find(query)
            .sort(doc! { "stored_at_ns": -1, "_id": -1 })
            .limit(i64::try_from(page.fetch()).unwrap_or(i64::MAX))
            .await
            .map_err(unavailable)?;
        let mut out = Vec::new();
        while cursor.advance().await.map_err(unavailable)? {
            let stored = cursor.deserialize_current().map_err(unavailable)?;
            let key = (stored.stored_at_ns, stored.id.clone());
            out.push((key, stored.try_into()?));
        }
        Ok(out)
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(self.outbox.clone())
    }
}
