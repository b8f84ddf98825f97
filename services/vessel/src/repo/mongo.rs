//! The vessel store on MongoDB: collection `vessels`, one plain document per vessel,
//! indexed for the spec lookup; the outbox beside it.

use std::sync::Arc;

use async_trait::async_trait;
use mongodb::bson::doc;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use shippy_plugins::outbox::{MongoOutbox, Outbox, Outgoing};
use shippy_plugins::store::mongo::is_duplicate_key;

use super::{RepoError, VesselRepository};
use crate::domain::{Specification, Vessel};

#[derive(Debug, Serialize, Deserialize)]
struct VesselDoc {
    #[serde(rename = "_id")]
    id: String,
    capacity: i32,
    max_weight: i32,
    name: String,
    available: bool,
    owner_id: String,
}

impl From<VesselDoc> for Vessel {
    fn from(d: VesselDoc) -> Self {
        Vessel {
            id: d.id,
            capacity: d.capacity,
            max_weight: d.max_weight,
            name: d.name,
            available: d.available,
            owner_id: d.owner_id,
        }
    }
}

/// A [`VesselRepository`] on MongoDB.
#[derive(Clone, Debug)]
pub struct MongoVessels {
    vessels: Collection<VesselDoc>,
    outbox: MongoOutbox,
}

fn unavailable(e: mongodb::error::Error) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

/// Smallest first, as [`VesselRepository`] promises.
fn smallest_first() -> mongodb::bson::Document {
    doc! { "capacity": 1, "max_weight": 1, "_id": 1 }
}

impl MongoVessels {
    /// The `vessels` collection of `db`, with its index created.
    pub async fn open(db: &Database) -> Result<Self, RepoError> {
        let vessels = db.collection::<VesselDoc>("vessels");
        let by_spec = IndexModel::builder()
            .keys(doc! { "available": 1, "capacity": 1, "max_weight": 1 })
            .build();
        vessels.create_index(by_spec).await.map_err(unavailable)?;
        let outbox = MongoOutbox::open(db, "vessels_outbox")
            .await
            .map_err(|e| RepoError::Unavailable(e.to_string()))?;
        Ok(Self { vessels, outbox })
    }
}

#[async_trait]
impl VesselRepository for MongoVessels {
    async fn create(&self, v: &Vessel, event: &Outgoing) -> Result<(), RepoError> {
        let document = VesselDoc {
            id: v.id.clone(),
            capacity: v.capacity,
            max_weight: v.max_weight,
            name: v.name.clone(),
            available: v.available,
            owner_id: v.owner_id.clone(),
        };
        let inserted = self
            .outbox
            .insert_with(&self.vessels, document, event)
            .await;
        inserted.map_err(|e| {
            if is_duplicate_key(&e) {
                RepoError::DuplicateId
            } else {
                unavailable(e)
            }
        })?;
        Ok(())
    }

    async fn find_available(&self, spec: Specification) -> Result<Option<Vessel>, RepoError> {
        let filter = doc! {
            "available": true,
            "capacity": { "$gte": spec.capacity },
            "max_weight": { "$gte": spec.max_weight },
        };
        let mut cursor = self
            .vessels
            .find(filter)
            .sort(smallest_first())
            .limit(1)
            .await
            .map_err(unavailable)?;
        if cursor.advance().await.map_err(unavailable)? {
            return Ok(Some(
                cursor.deserialize_current().map_err(unavailable)?.into(),
            ));
        }
        Ok(None)
    }

    async fn list(&self) -> Result<Vec<Vessel>, RepoError> {
        let mut cursor = self
            .vessels
            .find(doc! {})
            .sort(smallest_first())
            .await
            .map_err(unavailable)?;
        let mut out = Vec::new();
        while cursor.advance().await.map_err(unavailable)? {
            out.push(cursor.deserialize_current().map_err(unavailable)?.into());
        }
        Ok(out)
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(self.outbox.clone())
    }
}
