//! The vessel store in memory, for handler tests: the same rules as the real adapters (the
//! smallest vessel that fits, one reservation per consignment, room never overbooked, each
//! write and its event together), checked by the same contract. One lock covers a whole
//! call, as one transaction does in the real stores.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shippy_plugins::outbox::MemoryOutbox;
use shippy_plugins::outbox::{Outbox, Outgoing};

use super::{ReleaseEvent, RepoError, VesselRepository};
use crate::domain::{
    Hold, Holder, Released, Reservation, Reserved, Specification, Vessel, VesselFilter, VesselKey,
};
use shippy_common::paging::PageRequest;

#[derive(Debug, Default)]
struct State {
    vessels: Vec<Vessel>,
    reservations: HashMap<String, Reservation>,
    /// Whose each reservation is, by consignment id.
    holders: HashMap<String, String>,
}

impl State {
    /// What `user_id` holds on `vessel_id` now (containers, weight).
    fn held_by(&self, user_id: &str, vessel_id: &str) -> (i32, i32) {
        self.reservations
            .values()
            .filter(|r| r.held && r.vessel_id == vessel_id)
            .filter(|r| {
                self.holders
                    .get(&r.consignment_id)
                    .is_some_and(|u| u == user_id)
            })
            .fold((0, 0), |(c, w), r| (c + r.capacity, w + r.weight))
    }

    /// Whether `holder` may take `more` on `vessel` within their share.
    fn within_share(&self, holder: &Holder, vessel: &Vessel, more: (i32, i32)) -> bool {
        !holder.is_capped_on(vessel)
            || holder.may_take(vessel, self.held_by(&holder.user_id, &vessel.id), more)
    }
}

/// A [`VesselRepository`] in memory, with its outbox beside it.
#[derive(Debug, Default)]
pub struct MemoryVessels {
    state: Mutex<State>,
    outbox: MemoryOutbox,
}

impl MemoryVessels {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Smallest first: by capacity, then max weight, then id (the adapters' order).
fn by_size(a: &Vessel, b: &Vessel) -> std::cmp::Ordering {
    (a.capacity, a.max_weight, &a.id).cmp(&(b.capacity, b.max_weight, &b.id))
}

#[async_trait]
impl VesselRepository for MemoryVessels {
    async fn create_within(
        &self,
        vessel: &Vessel,
        event: &Outgoing,
        most_owned: u64,
    ) -> Result<(), RepoError> {
        let mut state = self.state();
        if state.vessels.iter().any(|v| v.id == vessel.id) {
            return Err(RepoError::DuplicateId);
        }
        let owned = state
            .vessels
            .iter()
            .filter(|v| v.owner_id == vessel.owner_id)
            .count();
        if most_owned > 0 && owned as u64 >= most_owned {
            return Err(RepoError::QuotaReached);
        }
        self.outbox.push(event);
        state.vessels.push(vessel.clone());
        Ok(())
    }

    async fn find_available(
        &self,
        spec: Specification,
        holder: &Holder,
    ) -> Result<Option<Vessel>, RepoError> {
        let state = self.state();
        let more = (spec.capacity, spec.max_weight);
        Ok(state
            .vessels
            .iter()
            .filter(|v| spec.fits(v) && state.within_share(holder, v, more))
            .min_by(|a, b| by_size(a, b))
            .cloned())
    }

    async fn reserve(&self, hold: &Hold, event: &Outgoing) -> Result<Reserved, RepoError> {
        let mut state = self.state();
        if let Some(r) = state.reservations.get(&hold.consignment_id) {
            return Ok(if r.held {
                Reserved::AlreadyHeld(r.clone())
            } else {
                Reserved::WasReleased(r.clone())
            });
        }
        let Some(found) = state.vessels.iter().find(|v| v.id == hold.vessel_id) else {
            return Ok(Reserved::NoVessel);
        };
        let holder = hold.holder();
        if !state.within_share(&holder, found, (hold.capacity, hold.weight)) {
            let held = state.held_by(&hold.user_id, &found.id);
            return Ok(Reserved::OverShare(found.clone(), held));
        }
        let Some(vessel) = state.vessels.iter_mut().find(|v| v.id == hold.vessel_id) else {
            return Ok(Reserved::NoVessel);
        };
        // The domain's rule is the adapters' conditional write: room is taken only if left.
        if vessel.reserve(hold).is_err() {
            return Ok(Reserved::NoRoom(vessel.clone()));
        }
        let made = hold.held();
        state
            .reservations
            .insert(made.consignment_id.clone(), made.clone());
        state
            .holders
            .insert(made.consignment_id.clone(), hold.user_id.clone());
        self.outbox.push(event);
        Ok(Reserved::Made(made))
    }

    async fn release(
        &self,
        consignment_id: &str,
        event: ReleaseEvent,
    ) -> Result<Released, RepoError> {
        let mut state = self.state();
        let held = match state.reservations.get(consignment_id) {
            None => {
                let tombstone = Reservation::released_unheld(consignment_id);
                state
                    .reservations
                    .insert(consignment_id.to_owned(), tombstone.clone());
                return Ok(Released {
                    reservation: tombstone,
                    changed: false,
                });
            }
            Some(r) if !r.held => {
                return Ok(Released {
                    reservation: r.clone(),
                    changed: false,
                });
            }
            Some(r) => r.clone(),
        };
        if let Some(vessel) = state.vessels.iter_mut().find(|v| v.id == held.vessel_id) {
            vessel.release(&held);
        }
        self.outbox.push(&event(&held));
        let released = Reservation {
            held: false,
            ..held
        };
        state
            .reservations
            .insert(consignment_id.to_owned(), released.clone());
        Ok(Released {
            reservation: released,
            changed: true,
        })
    }

    async fn reservation(&self, consignment_id: &str) -> Result<Option<Reservation>, RepoError> {
        Ok(self.state().reservations.get(consignment_id).cloned())
    }

    async fn list(
        &self,
        filter: &VesselFilter,
        page: &PageRequest<VesselKey>,
    ) -> Result<Vec<Vessel>, RepoError> {
        let mut vessels: Vec<Vessel> = self
            .state()
            .vessels
            .iter()
            .filter(|v| filter.admits(v) && page.after.as_ref().is_none_or(|k| v.key() > *k))
            .cloned()
            .collect();
        vessels.sort_by(by_size);
        vessels.truncate(page.fetch());
        Ok(vessels)
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(self.outbox.clone())
    }
}
