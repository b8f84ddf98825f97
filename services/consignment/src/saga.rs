//! The booking saga, orchestrated here and stored at every step. A booking is written as
//! `pending` before anything else happens; then room is reserved on a vessel (stored by the
//! vessel service, keyed by consignment id, so asking twice holds once); then the booking is
//! written as `booked`. Each write is conditional on the step it read, so any number of
//! drivers (the request, a retry with the same idempotency key, a sweep on any instance
//! after a crash) can push the same booking on and it still ends one way: booked with
//! exactly one reservation, or rejected or cancelled with none. A driver that did not just
//! create the booking first asks the vessel service what it already holds, and keeps that:
//! a booking that held the last room before a crash is booked after it, not rejected.

use std::sync::Arc;
use std::time::Duration;

use shippy_common::ErrorKind;
use shippy_common::config::SagaConfig;
use shippy_common::events::{Detail, Events};
use shippy_common::paging::{Page, PageRequest};
use shippy_plugins::outbox::Outgoing;
use tokio::time::Instant;

use crate::domain::error::STORE_CAUSE;
use crate::domain::{
    Consignment, ConsignmentError, ConsignmentFilter, ConsignmentKey, IdempotencyKey,
    NewConsignment, Next, Now, Status, new_id,
};
use crate::events;
use crate::repo::{ConsignmentRepository, RepoError};
use crate::vessels::{Hold, Holding, Room, Vessels};

/// Why a booking whose reservation was given back (a cancel that won the race) is rejected.
const RELEASED: &str = "its reservation was released";

/// Who drives a booking's steps, which decides whether it may already hold room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Driver {
    /// The request that just stored the booking: nothing was asked for it yet.
    Creator,
    /// Anyone else (a retry under the same key, a cancel, the sweep after a crash): an
    /// earlier driver may have reserved room before it stopped.
    Resumer,
}

/// Drives bookings through their steps.
#[derive(Clone)]
pub struct Saga {
    repo: Arc<dyn ConsignmentRepository>,
    vessels: Arc<dyn Vessels>,
    events: Events,
    config: SagaConfig,
    /// The most bookings in flight one user may have (`limits.bookings_in_flight_per_user`;
    /// 0: any).
    bookings_in_flight_per_user: u64,
}

/// The clock, as the steps record it.
fn now() -> Now {
    Now::current()
}

/// What a person may be told of why a step failed: the error table's words (a store's or a
/// connection's own text stays in the log).
fn public_cause(error: &ConsignmentError) -> String {
    use shippy_common::KindedError;
    let kind = error.kind();
    if let Some(words) = error.public_message().filter(|_| kind.is_public()) {
        words
    } else if kind.is_public() {
        error.to_string()
    } else {
        "an internal error".to_owned()
    }
}

/// Bookings one sweep drives on at once.
pub const SWEEP_AT_ONCE: usize = 8;

/// How long a booking waits after its `attempts`-th failure in a row: `saga.stale_secs`
/// (at least 10 ms) doubled each time, at most `saga.backoff_max_secs`, less up to half at
/// random (so the bookings one outage stalled do not all come back at once).
pub fn backoff(config: &SagaConfig, attempts: u32) -> Duration {
    let base = Duration::from_secs(config.stale_secs).max(Duration::from_millis(10));
    let most = Duration::from_secs(config.backoff_max_secs.max(1));
    let full = base
        .checked_mul(1u32 << attempts.saturating_sub(1).min(20))
        .unwrap_or(most)
        .min(most);
    // A random byte: a fresh v4 id is 122 random bits.
    let jitter = f64::from(uuid::Uuid::new_v4().as_bytes()[0]) / 255.0;
    full.mul_f64(1.0 - jitter / 2.0)
}

impl Saga {
    pub fn new(
        repo: Arc<dyn ConsignmentRepository>,
        vessels: Arc<dyn Vessels>,
        events: Events,
        config: SagaConfig,
    ) -> Self {
        Self {
            repo,
            vessels,
            events,
            config,
            bookings_in_flight_per_user: 0,
        }
    }

    /// The saga, holding each user to at most `most` bookings in flight (0: no limit).
    pub fn with_bookings_in_flight_per_user(mut self, most: u64) -> Self {
        self.bookings_in_flight_per_user = most;
        self
    }

    /// Books `new` for `user_id`: stores it pending (or finds the booking made earlier under
    /// the same key, refusing a different body) and drives it to its end.
    pub async fn book(
        &self,
        user_id: &str,
        key: IdempotencyKey,
        new: NewConsignment,
        deadline: Instant,
    ) -> Result<Consignment, ConsignmentError> {
        let pending = Consignment::pending(new_id(), new.clone(), user_id, key, &now());
        let event = self.events.outgoing(
            events::pending(&pending),
            events::sequence(&pending),
            user_id,
        );
        let most = self.bookings_in_flight_per_user;
        let (booking, from) = match self.repo.create_within(&pending, &event, most).await {
            Ok(()) => (pending, Driver::Creator),
            // A retry under a key already used is answered what it got, quota or not.
            Err(RepoError::QuotaReached)
                if self
                    .repo
                    .by_key(user_id, &pending.idempotency_key)
                    .await?
                    .is_none() =>
            {
                return Err(ConsignmentError::TooManyBookings(most));
            }
            Err(RepoError::DuplicateKey | RepoError::QuotaReached) => {
                let earlier = self
                    .repo
                    .by_key(user_id, &pending.idempotency_key)
                    .await?
                    .ok_or_else(|| ConsignmentError::Store("a booking vanished".into()))?;
                if !earlier.made_from(&new) {
                    return Err(ConsignmentError::KeyReused(earlier.id));
                }
                (earlier, Driver::Resumer)
            }
            Err(e) => return Err(e.into()),
        };
        let id = booking.id.clone();
        let ended = self
            .drive_as(from, booking, deadline)
            .await
            .map_err(|e| unfinished(&id, e))?;
        match ended.status {
            Status::Booked => Ok(ended),
            Status::Rejecting | Status::Rejected => Err(ConsignmentError::NoVessel(ended.reason)),
            Status::Cancelling | Status::Cancelled => Err(ConsignmentError::Cancelled(ended.id)),
            Status::Failing | Status::Failed => Err(ConsignmentError::Failed {
                id: ended.id,
                reason: ended.reason,
            }),
            Status::Pending => Err(ConsignmentError::Unfinished {
                id: ended.id,
                cause: "not finished".into(),
            }),
        }
    }

    /// A page of the consignments `filter` admits (one owner's), newest first: `page_size`
    /// and `page_token` as the request named them.
    pub async fn list(
        &self,
        filter: &ConsignmentFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<Page<Consignment>, ConsignmentError> {
        let query = filter.query();
        let page =
            PageRequest::parse(page_size, page_token, &query).map_err(ConsignmentError::Invalid)?;
        let rows = self.repo.list(filter, &page).await?;
        let bytes = |(_, c): &(ConsignmentKey, Consignment)| c.wire_bytes();
        Ok(page
            .page_within(rows, |(key, _)| key.clone(), bytes, &query)
            .map(|(_, c)| c))
    }

    /// `user_id`'s consignment `id`; another's is not found.
    pub async fn get(&self, user_id: &str, id: &str) -> Result<Consignment, ConsignmentError> {
        self.repo
            .get(id)
            .await?
            .filter(|c| c.user_id == user_id)
            .ok_or_else(|| ConsignmentError::NotFound(id.to_owned()))
    }

    /// Cancels `user_id`'s consignment `id` and gives its room back. Cancelling again, or
    /// cancelling a rejected booking, answers it as it is.
    pub async fn cancel(
        &self,
        user_id: &str,
        id: &str,
        deadline: Instant,
    ) -> Result<Consignment, ConsignmentError> {
        let mut booking = self.get(user_id, id).await?;
        while let Some(cancelling) = booking.cancelling(&now()) {
            if self.repo.advance(booking.status, &cancelling, None).await? {
                booking = cancelling;
            } else {
                booking = self.reload(&booking.id).await?;
            }
        }
        self.drive(booking, deadline)
            .await
            .map_err(|e| unfinished(id, e))
    }

    /// Pushes `booking` through its remaining steps, storing each before the next starts,
    /// until it has ended or a step cannot be taken now (the vessel service or the store is
    /// unavailable: the booking stays where it was, for a retry or the sweep). The booking
    /// may have been driven before (by a crashed instance, a request cut off): it keeps
    /// whatever room it already holds.
    pub async fn drive(
        &self,
        booking: Consignment,
        deadline: Instant,
    ) -> Result<Consignment, ConsignmentError> {
        self.drive_as(Driver::Resumer, booking, deadline).await
    }

    async fn drive_as(
        &self,
        driver: Driver,
        mut booking: Consignment,
        deadline: Instant,
    ) -> Result<Consignment, ConsignmentError> {
        loop {
            let (next, event) = match booking.status.next() {
                Next::Done => return Ok(booking),
                Next::Reserve => match self.hold(driver, &booking, deadline).await? {
                    Ok(vessel_id) => {
                        let booked = booking.booked(&vessel_id, &now())?;
                        let event = self.event(events::booked(&booked), &booked);
                        (booked, Some(event))
                    }
                    Err(reason) => (booking.rejecting(&reason, &now())?, None),
                },
                Next::Release => {
                    // The release is the booking's next step ("released").
                    let step = events::next_sequence(&booking);
                    let vessel = self
                        .vessels
                        .release(&booking.id, &booking.user_id, step, deadline)
                        .await?;
                    self.pause("after-release").await;
                    let ended = booking.released(vessel.as_deref(), &now())?;
                    let event = self.event(events::ended(&ended), &ended);
                    (ended, Some(event))
                }
            };
            if self
                .repo
                .advance(booking.status, &next, event.as_ref())
                .await?
            {
                booking = next;
            } else {
                // Another driver moved it first: carry on from where it is now.
                booking = self.reload(&booking.id).await?;
            }
        }
    }

    /// Holds room for `booking` on the smallest vessel that has it. A race can take the
    /// room between the lookup and the hold; then the next-smallest is tried, a bounded
    /// number of times. `Err(reason)` when no vessel can take it.
    ///
    /// A booking driven before may already hold room (its reservation was stored, then the
    /// instance died or the answer was lost): a resumer asks the vessel service first and
    /// keeps that room, however full the fleet is now. Only the booking's creator, which
    /// has never asked for room, goes straight to the lookup.
    async fn hold(
        &self,
        driver: Driver,
        booking: &Consignment,
        deadline: Instant,
    ) -> Result<Result<String, String>, ConsignmentError> {
        if driver == Driver::Resumer {
            match self.vessels.holding(&booking.id, deadline).await? {
                Holding::Held { vessel_id } => {
                    tracing::info!(consignment = %booking.id, vessel = %vessel_id, "a resumed booking keeps the room it already holds");
                    return Ok(Ok(vessel_id));
                }
                Holding::Released => return Ok(Err(RELEASED.into())),
                Holding::Nothing => {}
            }
        }
        let (capacity, weight) = (booking.capacity_needed(), booking.weight);
        let mut last = String::new();
        for _ in 0..self.config.vessel_tries.max(1) {
            let vessel_id = match self
                .vessels
                .find(capacity, weight, &booking.user_id, deadline)
                .await
            {
                Ok(id) => id,
                Err(ConsignmentError::NoVessel(reason)) => return Ok(Err(reason)),
                Err(e) => return Err(e),
            };
            let room = Room {
                consignment_id: booking.id.clone(),
                vessel_id,
                capacity,
                weight,
                user_id: booking.user_id.clone(),
                // The hold is the booking's next step ("reserved").
                sequence: events::next_sequence(booking),
            };
            match self.vessels.reserve(&room, deadline).await? {
                Hold::Held { vessel_id } => {
                    self.pause("after-reserve").await;
                    return Ok(Ok(vessel_id));
                }
                Hold::NoRoom(why) => last = why,
                Hold::Released => return Ok(Err(RELEASED.into())),
            }
        }
        Ok(Err(format!(
            "every vessel that could take it filled up while it was being booked ({last})"
        )))
    }

    /// Finds bookings left unfinished for a while (a crash, an outage) and drives them on,
    /// [`SWEEP_AT_ONCE`] at a time. Those no sweep has failed on come first, oldest first;
    /// one that fails waits longer each time (exponential backoff with jitter, up to
    /// `saga.backoff_max_secs`), so bookings that keep failing never starve newer ones, and
    /// after `saga.max_attempts` failures in a row a pending booking is given up on: it
    /// gives back whatever it holds and ends `failed`, saying why. Answers how many it
    /// finished.
    pub async fn sweep(&self, limit: Duration) -> Result<usize, ConsignmentError> {
        let now_ms = now().unix_ms;
        let stale_ms = i64::try_from(self.config.stale_secs.saturating_mul(1000)).unwrap_or(0);
        let due = self.repo.unfinished(now_ms - stale_ms, now_ms, 100).await?;
        let mut finished = 0;
        for batch in due.chunks(SWEEP_AT_ONCE) {
            let drives: Vec<_> = batch
                .iter()
                .map(|booking| tokio::spawn(self.clone().sweep_one(booking.clone(), limit)))
                .collect();
            for drive in drives {
                finished += usize::from(drive.await.unwrap_or(false));
            }
        }
        Ok(finished)
    }

    /// Drives one unfinished booking on; answers whether it ended.
    async fn sweep_one(self, booking: Consignment, limit: Duration) -> bool {
        let (id, from) = (booking.id.clone(), booking.status);
        let error = match self.drive(booking.clone(), Instant::now() + limit).await {
            Ok(ended) => {
                tracing::info!(consignment = %id, from = from.as_str(), to = ended.status.as_str(), "resumed an unfinished booking");
                return true;
            }
            Err(error) => error,
        };
        // Where it stands now: the drive may have taken steps before it failed.
        let Ok(now_stored) = self.reload(&id).await else {
            return false;
        };
        let failed = now_stored.deferred(0);
        if now_stored.status == Status::Pending && failed.attempts >= self.config.max_attempts {
            tracing::warn!(consignment = %id, %error, attempts = failed.attempts, "giving up on a booking");
            if let Ok(failing) = failed.failing(&public_cause(&error), &now()) {
                let moved = self.repo.advance(Status::Pending, &failing, None).await;
                if matches!(moved, Ok(true)) {
                    return Box::pin(self.sweep_one(failing, limit)).await;
                }
            }
            return false;
        }
        let wait = backoff(&self.config, failed.attempts);
        let retry_at_ms = now().unix_ms + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
        tracing::warn!(consignment = %id, %error, attempts = failed.attempts, retry_in_ms = wait.as_millis() as u64, "an unfinished booking cannot go on yet");
        let _ = self
            .repo
            .defer(&id, now_stored.status, &now_stored.deferred(retry_at_ms))
            .await;
        false
    }

    async fn reload(&self, id: &str) -> Result<Consignment, ConsignmentError> {
        self.repo
            .get(id)
            .await?
            .ok_or_else(|| ConsignmentError::Store(format!("consignment {id} vanished")))
    }

    /// The event `detail` of the step `booking` has just taken (its last).
    fn event(&self, detail: Detail, booking: &Consignment) -> Outgoing {
        self.events
            .outgoing(detail, events::sequence(booking), &booking.user_id)
    }

    /// The test hook `saga.pause_at`: stops this booking's saga at `point` for good, so a
    /// test can kill the process exactly there.
    async fn pause(&self, point: &str) {
        if self.config.pause_at == point {
            tracing::warn!(point, "saga paused by the test hook saga.pause_at");
            tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
        }
    }
}

/// A step that could not be taken now: the booking is stored and a retry finishes it.
fn unfinished(id: &str, e: ConsignmentError) -> ConsignmentError {
    match &e {
        ConsignmentError::Vessels {
            kind: ErrorKind::Unavailable | ErrorKind::DeadlineExceeded,
            message,
        } => ConsignmentError::Unfinished {
            id: id.to_owned(),
            cause: format!("vessel service: {message}"),
        },
        ConsignmentError::Store(cause) => ConsignmentError::Unfinished {
            id: id.to_owned(),
            cause: format!("{STORE_CAUSE}{cause}"),
        },
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shippy_common::error::testing::STORE_DETAIL;

    #[test]
    fn a_bookings_failure_reason_keeps_internal_words_inside() {
        let store = public_cause(&ConsignmentError::Store(STORE_DETAIL.into()));
        assert!(store.starts_with("the store is unavailable"), "{store}");
        let internal = public_cause(&ConsignmentError::Vessels {
            kind: ErrorKind::Internal,
            message: "h2 protocol error at 10.0.0.7".into(),
        });
        assert_eq!(internal, "an internal error");
        let down = public_cause(&ConsignmentError::Vessels {
            kind: ErrorKind::Unavailable,
            message: "no instance of shippy.vessel answered in time".into(),
        });
        assert!(down.contains("no instance of shippy.vessel"), "{down}");
    }
}
