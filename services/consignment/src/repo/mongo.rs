//! The consignment store on MongoDB: collection `consignments`, one plain document per
//! consignment with its containers and saga steps embedded, indexed by owner, by owner and
//! idempotency key (unique), and by unfinished status.

use std::sync::Arc;

use async_trait::async_trait;
use mongodb::bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use shippy_plugins::outbox::{MongoOutbox, Outbox, Outgoing};
use shippy_plugins::store::mongo::{TRANSACTION_TRIES, is_duplicate_key, is_transient};

use super::{ConsignmentRepository, RepoError};
use crate::domain::{Consignment, Container, Status, Step};

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
        })
    }
}

/// A [`ConsignmentRepository`] on MongoDB.
#[derive(Clone, Debug)]
pub struct MongoConsignments {
    consignments: Collection<ConsignmentDoc>,
    outbox: MongoOutbox,
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
            IndexModel::builder()
                .keys(doc! { "user_id": 1, "stored_at_ns": -1 })
                .build(),
            IndexModel::builder()
                .keys(doc! { "user_id": 1, "idempotency_key": 1 })
                .options(IndexOptions::builder().unique(true).build())
                .build(),
            IndexModel::builder()
                .keys(doc! { "status": 1, "updated_ms": 1 })
                .build(),
        ];
        for index in indexes {
            consignments
                .create_index(index)
                .await
                .map_err(unavailable)?;
        }
        let outbox = MongoOutbox::open(db, "consignments_outbox")
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

    async fn advance_once(
        &self,
        from: Status,
        next: &Consignment,
        event: Option<&Outgoing>,
    ) -> mongodb::error::Result<bool> {
        let mut session = self.consignments.client().start_session().await?;
        session.start_transaction().await?;
        let steps = mongodb::bson::to_bson(&next.steps)?;
        // The guard: only the booking as it was read moves on.
        let moved = self
            .consignments
            .update_one(
                doc! { "_id": &next.id, "status": from.as_str() },
                doc! { "$set": {
                    "status": next.status.as_str(),
                    "vessel_id": &next.vessel_id,
                    "reason": &next.reason,
                    "steps": steps,
                    "updated_ms": next.updated_ms,
                } },
            )
            .session(&mut session)
            .await?;
        if moved.matched_count == 0 {
            session.abort_transaction().await?;
            return Ok(false);
        }
        if let Some(event) = event {
            self.outbox.enqueue_in(&mut session, event).await?;
        }
        session.commit_transaction().await?;
        Ok(true)
    }
}

#[async_trait]
impl ConsignmentRepository for MongoConsignments {
    async fn create(&self, c: &Consignment, event: &Outgoing) -> Result<(), RepoError> {
        self.outbox
            .insert_with(&self.consignments, ConsignmentDoc::from(c), event)
            .await
            .map_err(|e| {
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
        let mut tries = 0;
        loop {
            tries += 1;
            match self.advance_once(from, next, event).await {
                Err(e) if is_transient(&e) && tries < TRANSACTION_TRIES => {
                    tokio::time::sleep(std::time::Duration::from_millis(u64::from(tries) * 5))
                        .await;
                }
                other => return other.map_err(unavailable),
            }
        }
    }

    async fn unfinished(
        &self,
        before_ms: i64,
        limit: usize,
    ) -> Result<Vec<Consignment>, RepoError> {
        let filter = doc! {
            "status": { "$in": ["pending", "rejecting", "cancelling"] },
            "updated_ms": { "$lt": before_ms },
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.many(filter, doc! { "updated_ms": 1 }, Some(limit))
            .await
    }

    async fn by_owner(&self, user_id: &str) -> Result<Vec<Consignment>, RepoError> {
        self.many(
            doc! { "user_id": user_id },
            doc! { "stored_at_ns": -1, "_id": -1 },
            None,
        )
        .await
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(self.outbox.clone())
    }
}
