//! The vessel store on MongoDB: collection `vessels`, one plain document per vessel with the
//! room it has left, indexed for the spec lookup; `reservations`, one document per
//! consignment; the outbox beside them.

use std::sync::Arc;

use async_trait::async_trait;
use mongodb::bson::doc;
use mongodb::{ClientSession, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use shippy_common::paging::PageRequest;
use shippy_plugins::outbox::{MongoOutbox, Outbox, Outgoing};
use shippy_plugins::store::mongo::{TRANSACTION_TRIES, after_key, is_duplicate_key, is_transient};

use super::{ReleaseEvent, RepoError, VesselRepository};
use crate::domain::{
    Hold, Holder, Released, Reservation, Reserved, Specification, Vessel, VesselFilter, VesselKey,
};

#[derive(Debug, Serialize, Deserialize)]
struct VesselDoc {
    #[serde(rename = "_id")]
    id: String,
    capacity: i32,
    max_weight: i32,
    name: String,
    available: bool,
    owner_id: String,
    /// Absent only in documents from before reservations, until `open` fills it in.
    #[serde(default)]
    remaining_capacity: Option<i32>,
    #[serde(default)]
    remaining_weight: Option<i32>,
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
            remaining_capacity: d.remaining_capacity.unwrap_or(d.capacity),
            remaining_weight: d.remaining_weight.unwrap_or(d.max_weight),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ReservationDoc {
    /// The consignment id: one reservation per consignment, ever.
    #[serde(rename = "_id")]
    consignment_id: String,
    vessel_id: String,
    capacity: i32,
    weight: i32,
    held: bool,
    /// Whose it is, for their share of the vessel; absent on reservations from before
    /// shares (which count against no one's).
    #[serde(default)]
    user_id: String,
}

impl From<ReservationDoc> for Reservation {
    fn from(d: ReservationDoc) -> Self {
        Reservation {
            consignment_id: d.consignment_id,
            vessel_id: d.vessel_id,
            capacity: d.capacity,
            weight: d.weight,
            held: d.held,
        }
    }
}

impl ReservationDoc {
    /// `r`, held by `user_id` (empty for a release that came first).
    fn new(r: &Reservation, user_id: &str) -> Self {
        ReservationDoc {
            consignment_id: r.consignment_id.clone(),
            vessel_id: r.vessel_id.clone(),
            capacity: r.capacity,
            weight: r.weight,
            held: r.held,
            user_id: user_id.to_owned(),
        }
    }
}

/// The filter of what `user_id` holds on `vessel_id` now.
fn held_by(user_id: &str, vessel_id: &str) -> mongodb::bson::Document {
    doc! { "vessel_id": vessel_id, "user_id": user_id, "held": true }
}

/// How many vessels the lookup for a holder held to a share passes over, at most, before it
/// says none has room for them.
const SHARE_CANDIDATES: usize = 64;

/// A [`VesselRepository`] on MongoDB.
#[derive(Clone, Debug)]
pub struct MongoVessels {
    vessels: Collection<VesselDoc>,
    reservations: Collection<ReservationDoc>,
    outbox: MongoOutbox,
}

fn unavailable(e: mongodb::error::Error) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

/// The index the lookup walks: available vessels, smallest first.
fn by_size() -> mongodb::bson::Document {
    doc! { "available": 1, "capacity": 1, "max_weight": 1, "_id": 1 }
}

/// Smallest first, as [`VesselRepository`] promises.
fn smallest_first() -> mongodb::bson::Document {
    doc! { "capacity": 1, "max_weight": 1, "_id": 1 }
}

impl MongoVessels {
    /// The `vessels` collection of `db`, with its index created.
    pub async fn open(db: &Database) -> Result<Self, RepoError> {
        let vessels = db.collection::<VesselDoc>("vessels");
        // The spec lookup's, and the lists': all of them, and one owner's.
        let indexes = [
            by_size(),
            smallest_first(),
            doc! { "owner_id": 1, "capacity": 1, "max_weight": 1, "_id": 1 },
        ]
        .map(|keys| IndexModel::builder().keys(keys).build());
        vessels.create_indexes(indexes).await.map_err(unavailable)?;
        let outbox = MongoOutbox::open(db, "vessels_outbox")
            .await
            .map_err(|e| RepoError::Unavailable(e.to_string()))?;
        let reservations = db.collection::<ReservationDoc>("reservations");
        // What one user holds on one vessel, for their share.
        let holders = doc! { "vessel_id": 1, "user_id": 1, "held": 1 };
        reservations
            .create_index(IndexModel::builder().keys(holders).build())
            .await
            .map_err(unavailable)?;
        let repo = Self {
            vessels,
            reservations,
            outbox,
        };
        repo.migrate().await?;
        Ok(repo)
    }

    /// Gives vessels stored before reservations their remaining room: all of it.
    async fn migrate(&self) -> Result<(), RepoError> {
        let mut old = self
            .vessels
            .find(doc! { "remaining_capacity": { "$exists": false } })
            .await
            .map_err(unavailable)?;
        let mut ids = Vec::new();
        while old.advance().await.map_err(unavailable)? {
            let d = old.deserialize_current().map_err(unavailable)?;
            ids.push((d.id, d.capacity, d.max_weight));
        }
        for (id, capacity, max_weight) in ids {
            let unset = doc! { "_id": &id, "remaining_capacity": { "$exists": false } };
            let set =
                doc! { "$set": { "remaining_capacity": capacity, "remaining_weight": max_weight } };
            self.vessels
                .update_one(unset, set)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// What `user_id` holds on `vessel_id` (containers, weight), read in `session` if given.
    async fn held(
        &self,
        session: Option<&mut ClientSession>,
        user_id: &str,
        vessel_id: &str,
    ) -> mongodb::error::Result<(i32, i32)> {
        let mut sum = (0i32, 0i32);
        let mut add = |r: ReservationDoc| {
            sum = (
                sum.0.saturating_add(r.capacity),
                sum.1.saturating_add(r.weight),
            );
        };
        let filter = held_by(user_id, vessel_id);
        match session {
            Some(session) => {
                let mut cursor = self
                    .reservations
                    .find(filter)
                    .session(&mut *session)
                    .await?;
                while cursor.advance(&mut *session).await? {
                    add(cursor.deserialize_current()?);
                }
            }
            None => {
                let mut cursor = self.reservations.find(filter).await?;
                while cursor.advance().await? {
                    add(cursor.deserialize_current()?);
                }
            }
        }
        Ok(sum)
    }

    async fn reservation_in(
        &self,
        session: &mut ClientSession,
        consignment_id: &str,
    ) -> mongodb::error::Result<Option<Reservation>> {
        let found = self
            .reservations
            .find_one(doc! { "_id": consignment_id })
            .session(session)
            .await?;
        Ok(found.map(Reservation::from))
    }

    async fn reserve_once(
        &self,
        hold: &Hold,
        event: &Outgoing,
    ) -> mongodb::error::Result<Reserved> {
        let mut session = self.vessels.client().start_session().await?;
        session.start_transaction().await?;
        if let Some(r) = self
            .reservation_in(&mut session, &hold.consignment_id)
            .await?
        {
            session.abort_transaction().await?;
            return Ok(if r.held {
                Reserved::AlreadyHeld(r)
            } else {
                Reserved::WasReleased(r)
            });
        }
        // The share: counted in this transaction, which then writes the vessel's document,
        // so a concurrent hold of the same user's on it conflicts and retries on the new count.
        let holder = hold.holder();
        if holder.is_capped() {
            let found = self
                .vessels
                .find_one(doc! { "_id": &hold.vessel_id })
                .session(&mut session)
                .await?;
            let Some(vessel) = found.map(Vessel::from) else {
                session.abort_transaction().await?;
                return Ok(Reserved::NoVessel);
            };
            if holder.is_capped_on(&vessel) {
                let held = self
                    .held(Some(&mut session), &holder.user_id, &vessel.id)
                    .await?;
                if !holder.may_take(&vessel, held, (hold.capacity, hold.weight)) {
                    session.abort_transaction().await?;
                    return Ok(Reserved::OverShare(vessel, held));
                }
            }
        }
        // The guard: one conditional write takes the room only if it is there.
        let room = doc! {
            "_id": &hold.vessel_id,
            "available": true,
            "remaining_capacity": { "$gte": hold.capacity },
            "remaining_weight": { "$gte": hold.weight },
        };
        let take = doc! { "$inc": { "remaining_capacity": -hold.capacity, "remaining_weight": -hold.weight } };
        let taken = self
            .vessels
            .update_one(room, take)
            .session(&mut session)
            .await?;
        if taken.matched_count == 0 {
            let vessel = self
                .vessels
                .find_one(doc! { "_id": &hold.vessel_id })
                .session(&mut session)
                .await?;
            session.abort_transaction().await?;
            return Ok(vessel.map_or(Reserved::NoVessel, |d| Reserved::NoRoom(d.into())));
        }
        let made = hold.held();
        self.reservations
            .insert_one(ReservationDoc::new(&made, &hold.user_id))
            .session(&mut session)
            .await?;
        self.outbox.enqueue_in(&mut session, event).await?;
        self.outbox.commit(&mut session).await?;
        Ok(Reserved::Made(made))
    }

    /// Gives back what `consignment_id` holds; `event` is made only when room goes back.
    async fn release_once(
        &self,
        consignment_id: &str,
        event: &ReleaseEvent,
    ) -> mongodb::error::Result<Released> {
        let mut session = self.vessels.client().start_session().await?;
        session.start_transaction().await?;
        let released = match self.reservation_in(&mut session, consignment_id).await? {
            None => {
                let tombstone = Reservation::released_unheld(consignment_id);
                self.reservations
                    .insert_one(ReservationDoc::new(&tombstone, ""))
                    .session(&mut session)
                    .await?;
                Released {
                    reservation: tombstone,
                    changed: false,
                }
            }
            Some(r) if !r.held => Released {
                reservation: r,
                changed: false,
            },
            Some(r) => {
                let give = doc! { "$inc": { "remaining_capacity": r.capacity, "remaining_weight": r.weight } };
                self.vessels
                    .update_one(doc! { "_id": &r.vessel_id }, give)
                    .session(&mut session)
                    .await?;
                let unhold = doc! { "$set": { "held": false } };
                self.reservations
                    .update_one(doc! { "_id": consignment_id, "held": true }, unhold)
                    .session(&mut session)
                    .await?;
                self.outbox.enqueue_in(&mut session, &event(&r)).await?;
                Released {
                    reservation: Reservation { held: false, ..r },
                    changed: true,
                }
            }
        };
        // Wakes the relay too (a release that changed nothing enqueued nothing: a look for
        // nothing).
        self.outbox.commit(&mut session).await?;
        Ok(released)
    }
}

/// Runs a transaction again while it fails for a passing reason (a write conflict with a
/// concurrent one, a duplicate insert a concurrent one won), a bounded number of times.
async fn retrying<T, F, Fut>(mut once: F) -> Result<T, RepoError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = mongodb::error::Result<T>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match once().await {
            Err(e) if (is_transient(&e) || is_duplicate_key(&e)) && tries < TRANSACTION_TRIES => {
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(tries) * 5)).await;
            }
            other => return other.map_err(unavailable),
        }
    }
}

#[async_trait]
impl VesselRepository for MongoVessels {
    async fn create_within(
        &self,
        v: &Vessel,
        event: &Outgoing,
        most_owned: u64,
    ) -> Result<(), RepoError> {
        if most_owned > 0 {
            let owned = self
                .vessels
                .count_documents(doc! { "owner_id": &v.owner_id })
                .await
                .map_err(unavailable)?;
            if owned >= most_owned {
                return Err(RepoError::QuotaReached);
            }
        }
        let document = VesselDoc {
            id: v.id.clone(),
            capacity: v.capacity,
            max_weight: v.max_weight,
            name: v.name.clone(),
            available: v.available,
            owner_id: v.owner_id.clone(),
            remaining_capacity: Some(v.remaining_capacity),
            remaining_weight: Some(v.remaining_weight),
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

    async fn find_available(
        &self,
        spec: Specification,
        holder: &Holder,
    ) -> Result<Option<Vessel>, RepoError> {
        // From the first vessel big enough (a smaller one can never have the room left),
        // smallest first along `by_size`, to the first with the room left (and, for a holder
        // held to a share, the first of those on which they may hold that much more).
        let filter = doc! {
            "available": true,
            "capacity": { "$gte": spec.capacity },
            "max_weight": { "$gte": spec.max_weight },
            "remaining_capacity": { "$gte": spec.capacity },
            "remaining_weight": { "$gte": spec.max_weight },
        };
        let most = if holder.is_capped() {
            SHARE_CANDIDATES
        } else {
            1
        };
        let mut cursor = self
            .vessels
            .find(filter)
            .sort(smallest_first())
            .hint(mongodb::options::Hint::Keys(by_size()))
            .limit(i64::try_from(most).unwrap_or(1))
            .await
            .map_err(unavailable)?;
        let mut candidates = Vec::new();
        while cursor.advance().await.map_err(unavailable)? {
            candidates.push(Vessel::from(
                cursor.deserialize_current().map_err(unavailable)?,
            ));
        }
        for vessel in candidates {
            if !holder.is_capped_on(&vessel) {
                return Ok(Some(vessel));
            }
            let held = self
                .held(None, &holder.user_id, &vessel.id)
                .await
                .map_err(unavailable)?;
            if holder.may_take(&vessel, held, (spec.capacity, spec.max_weight)) {
                return Ok(Some(vessel));
            }
        }
        Ok(None)
    }

    async fn list(
        &self,
        filter: &VesselFilter,
        page: &PageRequest<VesselKey>,
    ) -> Result<Vec<Vessel>, RepoError> {
        // One flat filter (no `$and`), which every MongoDB-wire server plans on its index.
        let mut query = doc! {};
        if filter.only_available {
            query.insert("available", true);
        }
        if let Some(owner) = &filter.owner {
            query.insert("owner_id", owner);
        }
        if let Some((capacity, weight, id)) = &page.after {
            query.extend(after_key(
                &[
                    ("capacity", (*capacity).into()),
                    ("max_weight", (*weight).into()),
                    ("_id", id.clone().into()),
                ],
                true,
            ));
        }
        let mut cursor = self
            .vessels
            .find(query)
            .sort(smallest_first())
            .limit(i64::try_from(page.fetch()).unwrap_or(i64::MAX))
            .await
            .map_err(unavailable)?;
        let mut out = Vec::new();
        while cursor.advance().await.map_err(unavailable)? {
            out.push(cursor.deserialize_current().map_err(unavailable)?.into());
        }
        Ok(out)
    }

    async fn reserve(&self, hold: &Hold, event: &Outgoing) -> Result<Reserved, RepoError> {
        retrying(|| self.reserve_once(hold, event)).await
    }

    async fn release(
        &self,
        consignment_id: &str,
        event: ReleaseEvent,
    ) -> Result<Released, RepoError> {
        retrying(|| self.release_once(consignment_id, &event)).await
    }

    async fn reservation(&self, consignment_id: &str) -> Result<Option<Reservation>, RepoError> {
        let found = self
            .reservations
            .find_one(doc! { "_id": consignment_id })
            .await
            .map_err(unavailable)?;
        Ok(found.map(Reservation::from))
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(self.outbox.clone())
    }
}
