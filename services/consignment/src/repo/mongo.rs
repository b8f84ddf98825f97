//! The consignment store on MongoDB: collection `consignments`, one plain document per
//! consignment with its containers embedded, indexed by owner.

use std::sync::Arc;

use async_trait::async_trait;
use mongodb::bson::doc;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use shippy_plugins::outbox::{MongoOutbox, Outbox, Outgoing};

use super::{ConsignmentRepository, RepoError};
use crate::domain::{Consignment, Container};

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
    /// Insertion time in unix nanoseconds, for newest-first order.
    stored_at_ns: i64,
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
    /// The `consignments` collection of `db`, with its index created.
    pub async fn open(db: &Database) -> Result<Self, RepoError> {
        let consignments = db.collection::<ConsignmentDoc>("consignments");
        let by_owner = IndexModel::builder()
            .keys(doc! { "user_id": 1, "stored_at_ns": -1 })
            .build();
        consignments
            .create_index(by_owner)
            .await
            .map_err(unavailable)?;
        let outbox = MongoOutbox::open(db, "consignments_outbox")
            .await
            .map_err(|e| RepoError::Unavailable(e.to_string()))?;
        Ok(Self {
            consignments,
            outbox,
        })
    }
}

#[async_trait]
impl ConsignmentRepository for MongoConsignments {
    async fn create(&self, c: &Consignment, event: &Outgoing) -> Result<(), RepoError> {
        let document = ConsignmentDoc {
            id: c.id.clone(),
            user_id: c.user_id.clone(),
            description: c.description.clone(),
            weight: c.weight,
            vessel_id: c.vessel_id.clone(),
            status: c.status.clone(),
            created_at: c.created_at.clone(),
            containers: c.containers.clone(),
            stored_at_ns: now_ns(),
        };
        self.outbox
            .insert_with(&self.consignments, document, event)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn by_owner(&self, user_id: &str) -> Result<Vec<Consignment>, RepoError> {
        let mut cursor = self
            .consignments
            .find(doc! { "user_id": user_id })
            .sort(doc! { "stored_at_ns": -1, "_id": -1 })
            .await
            .map_err(unavailable)?;
        let mut out = Vec::new();
        while cursor.advance().await.map_err(unavailable)? {
            let d = cursor.deserialize_current().map_err(unavailable)?;
            out.push(Consignment {
                id: d.id,
                description: d.description,
                weight: d.weight,
                containers: d.containers,
                vessel_id: d.vessel_id,
                user_id: d.user_id,
                status: d.status,
                created_at: d.created_at,
            });
        }
        Ok(out)
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(self.outbox.clone())
    }
}
