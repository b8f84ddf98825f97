//! Consignments and their containers, the steps of a booking, and the rules a new one must
//! pass. No wire types and no store here: the gRPC edge, the vessel client and the
//! repository translate.

pub mod error;
mod request;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

pub use error::ConsignmentError;
pub use request::{IdempotencyKey, MAX_CONTAINERS, MAX_DESCRIPTION, MAX_FIELD, NewConsignment};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    pub customer_id: String,
    pub origin: String,
    pub user_id: String,
}

/// A consignment's place in its owner's list: newest first, by the store's own order of
/// arrival (SQLite's row sequence, MongoDB's insertion time, the memory store's index), then
/// by id; neither ever changes, so no write between pages moves a consignment in the list.
pub type ConsignmentKey = (i64, String);

/// Which consignments a list holds: always one owner's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsignmentFilter {
    pub owner: String,
    /// Only those in this state.
    pub status: Option<Status>,
}

impl ConsignmentFilter {
    /// `owner`'s consignments in `status` (all of them when empty): INVALID_ARGUMENT
    /// naming `status` when it is no state a booking has.
    pub fn parse(owner: &str, status: &str) -> Result<Self, ConsignmentError> {
        let status = match status.trim() {
            "" => None,
            named => Some(Status::parse(named).ok_or_else(|| {
                ConsignmentError::invalid(
                    "status",
                    shippy_common::FieldCode::BadFormat,
                    "must be one of pending, booked, rejecting, rejected, cancelling, cancelled, \
                     failing, failed",
                )
            })?),
        };
        Ok(Self {
            owner: owner.to_owned(),
            status,
        })
    }

    pub fn admits(&self, c: &Consignment) -> bool {
        c.user_id == self.owner && self.status.is_none_or(|s| s == c.status)
    }

    /// The query its page tokens are bound to.
    pub fn query(&self) -> shippy_common::paging::Query {
        shippy_common::paging::Query::new("consignments")
            .with("owner", &self.owner)
            .with("status", self.status.map_or("", Status::as_str))
    }
}

/// Where a booking stands. A booking is a saga: each state is stored before the next step
/// starts, so whoever picks it up (the request that began it, a retry with the same key, or
/// any instance after a crash) knows what to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Stored; room is being reserved on a vessel.
    Pending,
    /// Room is held on `vessel_id`.
    Booked,
    /// No vessel could take it; anything reserved is being given back.
    Rejecting,
    /// No vessel could take it, and nothing is held.
    Rejected,
    /// Its owner cancelled it; its room is being given back.
    Cancelling,
    /// Cancelled, and nothing is held.
    Cancelled,
    /// Shippy gave up on it (its steps failed `saga.max_attempts` times in a row); anything
    /// reserved is being given back.
    Failing,
    /// Shippy gave up on it, and nothing is held.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Booked => "booked",
            Status::Rejecting => "rejecting",
            Status::Rejected => "rejected",
            Status::Cancelling => "cancelling",
            Status::Cancelled => "cancelled",
            Status::Failing => "failing",
            Status::Failed => "failed",
        }
    }

    /// The status a store wrote with [`Status::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        [
            Status::Pending,
            Status::Booked,
            Status::Rejecting,
            Status::Rejected,
            Status::Cancelling,
            Status::Cancelled,
            Status::Failing,
            Status::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }

    /// Whether the saga still works on a booking here (finding room, or giving it back): the
    /// bookings in flight quota counts these.
    pub fn is_in_flight(self) -> bool {
        matches!(
            self,
            Status::Pending | Status::Rejecting | Status::Cancelling | Status::Failing
        )
    }

    /// The saga's next step from here.
    pub fn next(self) -> Next {
        match self {
            Status::Pending => Next::Reserve,
            Status::Rejecting | Status::Cancelling | Status::Failing => Next::Release,
            Status::Booked | Status::Rejected | Status::Cancelled | Status::Failed => Next::Done,
        }
    }
}

/// What the saga does next with a booking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Find a vessel and hold room on it.
    Reserve,
    /// Give back whatever room it holds.
    Release,
    /// Nothing: it has ended, consistently.
    Done,
}

/// One stored step of a booking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    /// RFC 3339.
    pub at: String,
    pub detail: String,
    /// The vessel the step concerns (room reserved, booked on, given back), if any; absent
    /// from steps stored before it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub vessel_id: String,
}

impl Step {
    /// This step, concerning `vessel_id`.
    fn on(mut self, vessel_id: &str) -> Self {
        vessel_id.clone_into(&mut self.vessel_id);
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consignment {
    pub id: String,
    pub description: String,
    pub weight: i32,
    pub containers: Vec<Container>,
    /// The vessel that carries it, once booked.
    pub vessel_id: String,
    /// The owner: the caller who booked it.
    pub user_id: String,
    pub status: Status,
    pub created_at: String,
    /// Why it was rejected, when it was.
    pub reason: String,
    /// Its steps so far, oldest first.
    pub steps: Vec<Step>,
    /// The key its owner booked it under: the same key books once.
    pub idempotency_key: String,
    /// Unix milliseconds of the last step, for finding bookings left unfinished.
    pub updated_ms: i64,
    /// Sweeps in a row that could not drive it on since its last step.
    pub attempts: u32,
    /// Unix milliseconds before which no sweep tries it again (0: as soon as it is stale).
    pub retry_at_ms: i64,
}

/// A moment, as the saga's steps record it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Now {
    pub rfc3339: String,
    pub unix_ms: i64,
}

impl Now {
    /// The clock, now.
    pub fn current() -> Self {
        let at = time::OffsetDateTime::now_utc();
        Now {
            rfc3339: at.format(&Rfc3339).unwrap_or_default(),
            unix_ms: i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
        }
    }
}

/// A fresh consignment id: time-ordered, so ids sort by when they were booked.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl Consignment {
    /// A new booking, stored before anything else happens.
    pub fn pending(
        id: String,
        new: NewConsignment,
        user_id: &str,
        key: IdempotencyKey,
        now: &Now,
    ) -> Self {
        let detail = format!(
            "{} and {} kg to book",
            containers(new.containers.len()),
            new.weight
        );
        Self {
            id,
            description: new.description,
            weight: new.weight,
            containers: new.containers,
            vessel_id: String::new(),
            user_id: user_id.to_owned(),
            status: Status::Pending,
            created_at: now.rfc3339.clone(),
            reason: String::new(),
            steps: vec![step("pending", now, detail)],
            idempotency_key: key.into_string(),
            updated_ms: now.unix_ms,
            attempts: 0,
            retry_at_ms: 0,
        }
    }

    /// Whether `new` is what this booking was made from (a retry with the same key).
    pub fn made_from(&self, new: &NewConsignment) -> bool {
        self.description == new.description
            && self.weight == new.weight
            && self.containers == new.containers
    }

    /// At least the bytes it takes on the wire: its text, and a little for each field's tag
    /// and length (a page is cut to fit a gRPC message by this).
    pub fn wire_bytes(&self) -> usize {
        const FIELD: usize = 8;
        let text = |s: &String| s.len() + FIELD;
        let containers: usize = self
            .containers
            .iter()
            .map(|c| {
                text(&c.id) + text(&c.customer_id) + text(&c.origin) + text(&c.user_id) + FIELD
            })
            .sum();
        let steps: usize = self
            .steps
            .iter()
            .map(|s| text(&s.name) + text(&s.at) + text(&s.detail) + FIELD)
            .sum();
        [
            &self.id,
            &self.description,
            &self.vessel_id,
            &self.user_id,
            &self.created_at,
            &self.reason,
        ]
        .into_iter()
        .map(text)
        .sum::<usize>()
            + containers
            + steps
            + 4 * FIELD
    }

    /// How many containers the vessel must have room for.
    pub fn capacity_needed(&self) -> i32 {
        i32::try_from(self.containers.len()).unwrap_or(i32::MAX)
    }

    fn then(&self, status: Status, steps: impl IntoIterator<Item = Step>, now: &Now) -> Self {
        let mut next = self.clone();
        next.status = status;
        next.steps.extend(steps);
        next.updated_ms = now.unix_ms;
        // A step taken: the failures before it are behind it.
        next.attempts = 0;
        next.retry_at_ms = 0;
        next
    }

    /// The same booking after one more sweep could not drive it on: not tried again before
    /// `retry_at_ms`. No step: nothing happened to it.
    pub fn deferred(&self, retry_at_ms: i64) -> Self {
        let mut next = self.clone();
        next.attempts = self.attempts.saturating_add(1);
        next.retry_at_ms = retry_at_ms;
        next
    }

    /// Pending → failing: shippy gives up on it after `self.attempts` sweeps in a row
    /// failed, the last for `cause`; whatever it holds is given back next.
    pub fn failing(&self, cause: &str, now: &Now) -> Result<Self, ConsignmentError> {
        self.expect(Status::Pending, "give up on")?;
        let reason = format!(
            "shippy gave up after {} tries in a row failed (the last: {cause}); book it again",
            self.attempts
        );
        let mut next = self.then(Status::Failing, [step("failing", now, reason.clone())], now);
        next.reason = reason;
        Ok(next)
    }

    /// Pending → booked: room is held on `vessel_id` (stored there first).
    pub fn booked(&self, vessel_id: &str, now: &Now) -> Result<Self, ConsignmentError> {
        self.expect(Status::Pending, "book")?;
        let reserved = step(
            "reserved",
            now,
            format!(
                "{} and {} kg held on vessel {vessel_id}",
                containers(self.containers.len()),
                self.weight
            ),
        );
        let reserved = reserved.on(vessel_id);
        let booked = step("booked", now, format!("booked on vessel {vessel_id}")).on(vessel_id);
        let mut next = self.then(Status::Booked, [reserved, booked], now);
        next.vessel_id = vessel_id.to_owned();
        Ok(next)
    }

    /// Pending → rejecting: no vessel can take it.
    pub fn rejecting(&self, reason: &str, now: &Now) -> Result<Self, ConsignmentError> {
        self.expect(Status::Pending, "reject")?;
        let mut next = self.then(
            Status::Rejecting,
            [step("rejecting", now, reason.into())],
            now,
        );
        next.reason = reason.to_owned();
        Ok(next)
    }

    /// Pending or booked → cancelling. `None` when there is nothing to start: it is already
    /// ending or has ended (cancelling twice is not an error).
    pub fn cancelling(&self, now: &Now) -> Option<Self> {
        match self.status {
            Status::Pending | Status::Booked => Some(self.then(
                Status::Cancelling,
                [step("cancelling", now, "cancelled by its owner".into())],
                now,
            )),
            _ => None,
        }
    }

    /// Rejecting → rejected, cancelling → cancelled: nothing is held any more. `released`
    /// says what room was given back, if any.
    pub fn released(&self, released: Option<&str>, now: &Now) -> Result<Self, ConsignmentError> {
        let end = match self.status {
            Status::Rejecting => Status::Rejected,
            Status::Cancelling => Status::Cancelled,
            Status::Failing => Status::Failed,
            _ => return Err(self.wrong_state("finish")),
        };
        let given_back = step(
            "released",
            now,
            released.map_or_else(
                || "no room was held".to_owned(),
                |vessel| format!("room given back on vessel {vessel}"),
            ),
        )
        .on(released.unwrap_or_default());
        let detail = match end {
            Status::Rejected | Status::Failed => self.reason.clone(),
            _ => "cancelled; nothing is held".to_owned(),
        };
        let mut next = self.then(end, [given_back, step(end.as_str(), now, detail)], now);
        if end == Status::Cancelled {
            next.vessel_id.clear();
        }
        Ok(next)
    }

    fn expect(&self, status: Status, what: &str) -> Result<(), ConsignmentError> {
        if self.status == status {
            Ok(())
        } else {
            Err(self.wrong_state(what))
        }
    }

    fn wrong_state(&self, what: &str) -> ConsignmentError {
        ConsignmentError::WrongState {
            id: self.id.clone(),
            status: self.status.as_str(),
            what: what.to_owned(),
        }
    }
}

/// "1 container", "3 containers".
pub fn containers(n: usize) -> String {
    if n == 1 {
        "1 container".to_owned()
    } else {
        format!("{n} containers")
    }
}

fn step(name: &str, now: &Now, detail: String) -> Step {
    Step {
        name: name.to_owned(),
        at: now.rfc3339.clone(),
        detail,
        vessel_id: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container() -> Container {
        Container {
            id: String::new(),
            customer_id: "cust001".into(),
            origin: "Derby".into(),
            user_id: "user001".into(),
        }
    }

    #[test]
    fn a_consignment_needs_a_description_a_weight_and_containers() {
        let field = |r: Result<NewConsignment, ConsignmentError>| match r {
            Err(ConsignmentError::Invalid(errors)) => errors.names().join(" "),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(NewConsignment::parse(" ", 1, vec![container()])),
            "description"
        );
        assert_eq!(
            field(NewConsignment::parse("d", 0, vec![container()])),
            "weight"
        );
        assert_eq!(
            field(NewConsignment::parse("d", -5, vec![container()])),
            "weight"
        );
        assert_eq!(field(NewConsignment::parse("d", 1, vec![])), "containers");
        assert_eq!(
            field(NewConsignment::parse(
                "d",
                1,
                vec![container(); MAX_CONTAINERS + 1]
            )),
            "containers"
        );
        assert_eq!(
            field(NewConsignment::parse("", 0, vec![])),
            "description weight containers",
            "every field at once"
        );
        let long = Container {
            origin: "o".repeat(MAX_FIELD + 1),
            ..container()
        };
        assert_eq!(
            field(NewConsignment::parse("d", 1, vec![container(), long])),
            "containers[1].origin"
        );
        // The limits count characters, as the API's maxLength does: 256 two-byte letters
        // (512 bytes) fit, one more does not.
        let wide = |n: usize| Container {
            id: "é".repeat(n),
            ..container()
        };
        assert!(
            NewConsignment::parse(&"é".repeat(MAX_DESCRIPTION), 1, vec![wide(MAX_FIELD)]).is_ok()
        );
        assert_eq!(
            field(NewConsignment::parse("d", 1, vec![wide(MAX_FIELD + 1)])),
            "containers[0].id"
        );
        let ok = NewConsignment::parse("d", 55_000, vec![container(); 3]).unwrap();
        assert_eq!(ok.capacity_needed(), 3);
    }

    fn at(ms: i64) -> Now {
        Now {
            rfc3339: format!("t{ms}"),
            unix_ms: ms,
        }
    }

    fn pending() -> Consignment {
        let new = NewConsignment::parse("d", 55_000, vec![container(); 3]).unwrap();
        let key = IdempotencyKey::parse(Some("k1")).unwrap();
        Consignment::pending("c1".into(), new, "alice", key, &at(1))
    }

    fn names(c: &Consignment) -> Vec<&str> {
        c.steps.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn a_booking_goes_pending_reserved_booked_and_ends() {
        let c = pending();
        assert_eq!(
            (c.status, c.status.next()),
            (Status::Pending, Next::Reserve)
        );
        let booked = c.booked("v1", &at(2)).unwrap();
        assert_eq!(booked.status, Status::Booked);
        assert_eq!(booked.vessel_id, "v1");
        assert_eq!(names(&booked), ["pending", "reserved", "booked"]);
        assert_eq!(booked.status.next(), Next::Done);
        assert_eq!(booked.updated_ms, 2);
        assert!(booked.booked("v2", &at(3)).is_err(), "booked once");
    }

    #[test]
    fn a_rejection_gives_back_whatever_was_held_before_it_ends() {
        let rejecting = pending().rejecting("no room", &at(2)).unwrap();
        assert_eq!(rejecting.status.next(), Next::Release);
        assert_eq!(rejecting.reason, "no room");
        let rejected = rejecting.released(None, &at(3)).unwrap();
        assert_eq!(rejected.status, Status::Rejected);
        assert_eq!(
            names(&rejected),
            ["pending", "rejecting", "released", "rejected"]
        );
        assert!(
            rejected.cancelling(&at(4)).is_none(),
            "a rejected booking has nothing to cancel"
        );
    }

    #[test]
    fn a_cancel_releases_then_ends_and_cancelling_again_starts_nothing() {
        let booked = pending().booked("v1", &at(2)).unwrap();
        let cancelling = booked.cancelling(&at(3)).unwrap();
        assert_eq!(cancelling.status.next(), Next::Release);
        assert!(cancelling.cancelling(&at(4)).is_none());
        let cancelled = cancelling.released(Some("v1"), &at(5)).unwrap();
        assert_eq!(cancelled.status, Status::Cancelled);
        assert!(
            cancelled.vessel_id.is_empty(),
            "a cancelled booking holds no vessel"
        );
        assert!(cancelled.cancelling(&at(6)).is_none());
        assert!(
            pending().cancelling(&at(2)).is_some(),
            "a pending booking can be cancelled"
        );
        assert!(
            booked.released(None, &at(3)).is_err(),
            "only an ending booking is released"
        );
    }

    #[test]
    fn statuses_round_trip_and_a_retry_is_recognised_by_its_body() {
        for s in [
            "pending",
            "booked",
            "rejecting",
            "rejected",
            "cancelling",
            "cancelled",
        ] {
            assert_eq!(Status::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(Status::parse("lost"), None);
        let c = pending();
        let same = NewConsignment::parse("d", 55_000, vec![container(); 3]).unwrap();
        let other = NewConsignment::parse("d", 55_001, vec![container(); 3]).unwrap();
        assert!(c.made_from(&same) && !c.made_from(&other));
    }

    #[test]
    fn idempotency_keys_are_checked_and_a_missing_one_is_unique() {
        let bad = |k: &str| {
            matches!(
                IdempotencyKey::parse(Some(k)),
                Err(ConsignmentError::Invalid(errors)) if errors.names() == ["idempotency-key"]
            )
        };
        assert!(bad("") && bad("has space") && bad(&"k".repeat(129)) && bad("é"));
        assert_ne!(
            IdempotencyKey::parse(None).unwrap(),
            IdempotencyKey::parse(None).unwrap()
        );
        assert_eq!(
            IdempotencyKey::parse(Some("a")).unwrap(),
            IdempotencyKey::parse(Some("a")).unwrap()
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn container() -> impl Strategy<Value = Container> {
        (".{0,300}", ".{0,300}", ".{0,300}", ".{0,300}").prop_map(
            |(id, customer_id, origin, user_id)| Container {
                id,
                customer_id,
                origin,
                user_id,
            },
        )
    }

    proptest! {
        /// Any description, weight and containers are a valid booking or an invalid argument
        /// naming the field; never a panic.
        #[test]
        fn consignment_parsing_never_panics_and_names_the_field(
            description in ".{0,1100}",
            weight in any::<i32>(),
            containers in prop::collection::vec(container(), 0..8),
        ) {
            let n = containers.len();
            match NewConsignment::parse(&description, weight, containers) {
                Ok(ok) => {
                    prop_assert!(ok.weight > 0 && !ok.description.is_empty() && ok.description.chars().count() <= MAX_DESCRIPTION);
                    prop_assert_eq!(ok.capacity_needed(), i32::try_from(n).unwrap());
                }
                Err(ConsignmentError::Invalid(errors)) => {
                    prop_assert!(!errors.is_empty());
                    for field in errors.names() {
                        prop_assert!(["description", "weight", "containers"].contains(&field) || field.starts_with("containers["));
                    }
                }
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }
    }
}
