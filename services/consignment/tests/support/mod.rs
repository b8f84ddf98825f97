//! What the consignment handler tests stand on: the in-memory consignment store, and a
//! vessel service made of the vessel service's own in-memory store and rules (so the fake
//! answers as the real one does), which can be switched off to play an outage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use shippy_common::ErrorKind;
use shippy_common::auth::testing;
use shippy_common::config::SagaConfig;
use shippy_common::events::{self, Events};
use shippy_consignment::ConsignmentHandler;
use shippy_consignment::domain::ConsignmentError;
use shippy_consignment::repo::{ConsignmentRepository, MemoryConsignments};
use shippy_consignment::saga::Saga;
use shippy_consignment::vessels::{Hold, Holding, Room, Vessels};
use shippy_plugins::outbox::contract::waiting;
use shippy_proto::tonic::Request;
use shippy_vessel::domain::{
    Holder, Reservation, Reserved, Share, Specification, Vessel, VesselError,
};
use shippy_vessel::repo::{MemoryVessels, VesselRepository};
use tokio::time::Instant;

/// The vessel service in memory.
#[derive(Default)]
pub struct Fleet {
    pub store: MemoryVessels,
    down: AtomicBool,
    answers_lost: AtomicBool,
    /// The most of a vessel not theirs one user may hold, as the vessel service is set.
    pub share: Share,
}

impl Fleet {
    /// A vessel `id` with room for `capacity` containers and `max_weight` kg.
    pub async fn launch(&self, id: &str, capacity: i32, max_weight: i32) {
        let v = Vessel {
            id: id.into(),
            capacity,
            max_weight,
            name: format!("ship {id}"),
            available: true,
            owner_id: "owner".into(),
            remaining_capacity: capacity,
            remaining_weight: max_weight,
        };
        let event = vessel_events().outgoing(shippy_vessel::events::created(&v, false), 1, "owner");
        self.store.create(&v, &event).await.unwrap();
    }

    /// The room `id` has left: containers and kg.
    pub async fn room(&self, id: &str) -> (i32, i32) {
        let vessels = shippy_vessel::repo::contract::all(&self.store).await;
        let v = vessels.into_iter().find(|v| v.id == id).unwrap();
        (v.remaining_capacity, v.remaining_weight)
    }

    /// Whether the vessel service answers.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Whether `Reserve`'s answers are lost on the way back (the room is held all the same),
    /// as when the consignment service dies right after the vessel service stored it.
    pub fn lose_reserve_answers(&self, lost: bool) {
        self.answers_lost.store(lost, Ordering::SeqCst);
    }

    fn up(&self) -> Result<(), ConsignmentError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ConsignmentError::Vessels {
                kind: ErrorKind::Unavailable,
                message: "no instance answers".into(),
            });
        }
        Ok(())
    }
}

fn vessel_events() -> Events {
    Events::new("shippy.log", "shippy.vessel")
}

/// As the vessel service answers and `GrpcVessels` reads the answer.
#[async_trait]
impl Vessels for Fleet {
    async fn find(
        &self,
        capacity: i32,
        max_weight: i32,
        user_id: &str,
        _: Instant,
    ) -> Result<String, ConsignmentError> {
        self.up()?;
        let spec = Specification::parse(capacity, max_weight).unwrap();
        let holder = Holder::new(user_id, self.share);
        match self.store.find_available(spec, &holder).await.unwrap() {
            Some(v) => Ok(v.id),
            None => Err(ConsignmentError::NoVessel(
                VesselError::NoneAvailable(spec).to_string(),
            )),
        }
    }

    async fn reserve(&self, room: &Room, _: Instant) -> Result<Hold, ConsignmentError> {
        self.up()?;
        let hold = shippy_vessel::domain::Hold::parse(
            &room.consignment_id,
            &room.vessel_id,
            room.capacity,
            room.weight,
            &room.user_id,
        )
        .unwrap()
        .within(self.share);
        let event = vessel_events().outgoing(
            shippy_vessel::events::reserved(&hold),
            room.sequence,
            &room.user_id,
        );
        let reserved = self.store.reserve(&hold, &event).await.unwrap();
        if self.answers_lost.load(Ordering::SeqCst) {
            return Err(ConsignmentError::Vessels {
                kind: ErrorKind::Unavailable,
                message: "the answer was lost".into(),
            });
        }
        Ok(match reserved {
            Reserved::Made(r) | Reserved::AlreadyHeld(r) => Hold::Held {
                vessel_id: r.vessel_id,
            },
            Reserved::NoRoom(_) | Reserved::OverShare(..) => {
                Hold::NoRoom(hold.answer(reserved).unwrap_err().to_string())
            }
            Reserved::NoVessel => {
                Hold::NoRoom(VesselError::UnknownVessel(hold.vessel_id).to_string())
            }
            Reserved::WasReleased(_) => Hold::Released,
        })
    }

    async fn holding(&self, consignment_id: &str, _: Instant) -> Result<Holding, ConsignmentError> {
        self.up()?;
        Ok(
            match self.store.reservation(consignment_id).await.unwrap() {
                None => Holding::Nothing,
                Some(r) if r.held => Holding::Held {
                    vessel_id: r.vessel_id,
                },
                Some(_) => Holding::Released,
            },
        )
    }

    async fn release(
        &self,
        consignment_id: &str,
        user_id: &str,
        sequence: i64,
        _: Instant,
    ) -> Result<Option<String>, ConsignmentError> {
        self.up()?;
        let user_id = user_id.to_owned();
        let event = Box::new(move |held: &Reservation| {
            vessel_events().outgoing(shippy_vessel::events::released(held), sequence, &user_id)
        });
        let released = self.store.release(consignment_id, event).await.unwrap();
        Ok(Some(released.reservation.vessel_id).filter(|v| !v.is_empty()))
    }
}

/// The consignment service over its in-memory store and `fleet`.
pub struct Shipping {
    pub handler: ConsignmentHandler,
    /// The saga under the handler, as another instance's sweep drives it.
    pub saga: Saga,
    pub repo: Arc<MemoryConsignments>,
    pub fleet: Arc<Fleet>,
}

pub fn shipping() -> Shipping {
    shipping_with_quota(0)
}

/// [`shipping`], each user holding at most `open_bookings` open bookings (0: any).
pub fn shipping_with_quota(open_bookings: u64) -> Shipping {
    let repo = Arc::new(MemoryConsignments::default());
    let fleet = Arc::new(Fleet::default());
    let events = Events::new("shippy.log", "shippy.consignment");
    let config = SagaConfig {
        sweep_secs: 1,
        stale_secs: 0,
        vessel_tries: 3,
        // Given up after three sweeps in a row fail, waiting 10 ms, then 20 ms between.
        max_attempts: 3,
        backoff_max_secs: 1,
        pause_at: String::new(),
    };
    let saga = Saga::new(repo.clone(), fleet.clone(), events, config)
        .with_bookings_in_flight_per_user(open_bookings);
    Shipping {
        handler: ConsignmentHandler::new(saga.clone(), Duration::from_secs(5)),
        saga,
        repo,
        fleet,
    }
}

impl Shipping {
    /// The methods of the consignment service's events waiting in its outbox, oldest first.
    pub async fn recorded(&self) -> Vec<String> {
        methods(self.repo.outbox().as_ref()).await
    }

    /// The same, of the vessel service's.
    pub async fn recorded_by_vessels(&self) -> Vec<String> {
        methods(self.fleet.store.outbox().as_ref()).await
    }
}

async fn methods(outbox: &dyn shippy_plugins::outbox::Outbox) -> Vec<String> {
    waiting(outbox)
        .await
        .iter()
        .map(|o| events::from_message(&o.message).unwrap().method)
        .collect()
}

/// `message` as `user_id` sends it, past the auth layer, with idempotency key `key` if any.
pub fn from<T>(user_id: &str, key: Option<&str>, message: T) -> Request<T> {
    let mut request = testing::from_user(user_id, message);
    if let Some(key) = key {
        request
            .metadata_mut()
            .insert(shippy_consignment::IDEMPOTENCY_KEY, key.parse().unwrap());
    }
    request
}
