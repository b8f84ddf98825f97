//! The vessel service's gRPC handler called in-process, over the in-memory vessel store:
//! what a user creating and finding vessels, and the consignment service holding and giving
//! back room, notice.

use std::sync::Arc;

use shippy_common::auth::testing;
use shippy_common::events::{self, Events};
use shippy_common::fields::from_status;
use shippy_plugins::outbox::contract::waiting;
use shippy_proto::tonic::{Code, Request};
use shippy_proto::vessel::vessel_service_server::VesselService;
use shippy_proto::vessel::{
    ListRequest, ReleaseRequest, ReservationQuery, ReserveRequest, Specification, Vessel,
};
use shippy_vessel::VesselHandler;
use shippy_vessel::repo::contract::all;
use shippy_vessel::repo::{MemoryVessels, VesselRepository};

fn by_alice<T>(message: T) -> Request<T> {
    testing::from_user("alice", message)
}

fn by_service<T>(message: T) -> Request<T> {
    testing::from_service("shippy.consignment", message)
}

struct Fleet {
    handler: VesselHandler,
    repo: Arc<MemoryVessels>,
}

fn fleet() -> Fleet {
    let repo = Arc::new(MemoryVessels::default());
    let events = Events::new("shippy.log", "shippy.vessel");
    Fleet {
        handler: VesselHandler::new(repo.clone(), events),
        repo,
    }
}

fn vessel(id: &str, capacity: i32, max_weight: i32) -> Vessel {
    Vessel {
        id: id.into(),
        capacity,
        max_weight,
        name: format!("ship {id}"),
        available: true,
        ..Vessel::default()
    }
}

async fn create(f: &Fleet, v: Vessel) -> Vessel {
    let answer = f.handler.create(by_alice(v)).await.unwrap().into_inner();
    assert!(answer.created);
    answer.vessel.unwrap()
}

/// The methods of the events waiting in the outbox, oldest first.
async fn recorded(f: &Fleet) -> Vec<String> {
    waiting(f.repo.outbox().as_ref())
        .await
        .iter()
        .map(|o| events::from_message(&o.message).unwrap().method)
        .collect()
}

fn reserve(consignment: &str, vessel: &str, capacity: i32, weight: i32) -> ReserveRequest {
    ReserveRequest {
        consignment_id: consignment.into(),
        vessel_id: vessel.into(),
        capacity,
        weight,
        user_id: "alice".into(),
        // The booking's second step: pending, then reserved.
        sequence: 2,
    }
}

fn query(consignment: &str) -> ReservationQuery {
    ReservationQuery {
        consignment_id: consignment.into(),
    }
}

fn release(consignment: &str) -> ReleaseRequest {
    ReleaseRequest {
        consignment_id: consignment.into(),
        user_id: "alice".into(),
        // Booked in three steps, cancelling the fourth, then released.
        sequence: 5,
    }
}

async fn room(f: &Fleet, id: &str) -> (i32, i32) {
    let v = all(f.repo.as_ref()).await;
    let v = v.into_iter().find(|v| v.id == id).unwrap();
    (v.remaining_capacity, v.remaining_weight)
}

#[tokio::test]
async fn an_invalid_vessel_names_every_bad_field() {
    let f = fleet();
    let bad = Vessel {
        id: "x".repeat(65),
        name: " ".into(),
        capacity: 0,
        max_weight: -1,
        ..Vessel::default()
    };
    let refused = f.handler.create(by_alice(bad)).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        from_status(&refused).names(),
        ["id", "name", "capacity", "max_weight"]
    );
    assert!(all(f.repo.as_ref()).await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn a_created_vessel_belongs_to_its_creator_has_all_its_room_and_records_one_event() {
    let f = fleet();
    let asked = Vessel {
        owner_id: "mallory".into(),
        remaining_capacity: 1,
        ..vessel("", 500, 200_000)
    };
    let v = create(&f, asked).await;
    assert!(v.id.starts_with("vessel-"), "a fresh id: {}", v.id);
    assert_eq!(v.owner_id, "alice");
    assert_eq!((v.remaining_capacity, v.remaining_weight), (500, 200_000));
    assert_eq!(recorded(&f).await, ["Create"]);
}

#[tokio::test]
async fn a_duplicate_vessel_id_is_refused_with_the_id_named() {
    let f = fleet();
    create(&f, vessel("v1", 5, 500)).await;
    let again = f.handler.create(by_alice(vessel("v1", 9, 900))).await;
    let refused = again.unwrap_err();
    assert_eq!(refused.code(), Code::AlreadyExists);
    assert_eq!(refused.message(), "a vessel with id v1 already exists");
    assert_eq!(
        recorded(&f).await,
        ["Create"],
        "the refused one left no event"
    );
}

#[tokio::test]
async fn the_smallest_vessel_with_room_is_found_and_a_spec_nothing_fits_is_not() {
    let f = fleet();
    create(&f, vessel("big", 20_000, 199_000_000)).await;
    create(&f, vessel("small", 50, 60_000)).await;
    let spec = |capacity, max_weight| {
        by_alice(Specification {
            capacity,
            max_weight,
            ..Specification::default()
        })
    };
    let found = f.handler.find_available(spec(3, 55_000)).await.unwrap();
    assert_eq!(found.into_inner().vessel.unwrap().id, "small");
    let none = f.handler.find_available(spec(20_001, 1)).await.unwrap_err();
    assert_eq!(none.code(), Code::NotFound);
    let negative = f.handler.find_available(spec(-1, -1)).await.unwrap_err();
    assert_eq!(from_status(&negative).names(), ["capacity", "max_weight"]);
    let listed = f.handler.list(by_alice(ListRequest::default())).await;
    let ids: Vec<_> = listed
        .unwrap()
        .into_inner()
        .vessels
        .into_iter()
        .map(|v| v.id)
        .collect();
    assert_eq!(ids, ["small", "big"], "smallest first");
}

#[tokio::test]
async fn a_user_may_not_hold_or_give_back_room_themselves() {
    let f = fleet();
    create(&f, vessel("v1", 5, 500)).await;
    let held = f.handler.reserve(by_alice(reserve("c1", "v1", 1, 1))).await;
    assert_eq!(held.unwrap_err().code(), Code::PermissionDenied);
    let released = f.handler.release(by_alice(release("c1"))).await;
    assert_eq!(released.unwrap_err().code(), Code::PermissionDenied);
    let asked = f.handler.get_reservation(by_alice(query("c1"))).await;
    assert_eq!(asked.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(room(&f, "v1").await, (5, 500));
}

#[tokio::test]
async fn what_a_consignment_holds_is_answered_by_its_id_and_asking_changes_nothing() {
    let f = fleet();
    create(&f, vessel("v1", 5, 500)).await;
    let ask = |id: &'static str| f.handler.get_reservation(by_service(query(id)));
    let never = ask("c1").await.unwrap_err();
    assert_eq!(never.code(), Code::NotFound, "nothing asked for c1 yet");
    assert_eq!(
        never.message(),
        "nothing was ever reserved or released for consignment c1"
    );
    f.handler
        .reserve(by_service(reserve("c1", "v1", 2, 200)))
        .await
        .unwrap();
    let held = ask("c1").await.unwrap().into_inner();
    assert_eq!(
        (
            held.vessel_id.as_str(),
            held.capacity,
            held.weight,
            held.held,
            held.changed
        ),
        ("v1", 2, 200, true, false)
    );
    f.handler.release(by_service(release("c1"))).await.unwrap();
    let released = ask("c1").await.unwrap().into_inner();
    assert!(!released.held, "{released:?}");
    let blank = f.handler.get_reservation(by_service(query(" "))).await;
    assert_eq!(from_status(&blank.unwrap_err()).names(), ["consignment_id"]);
    assert_eq!(room(&f, "v1").await, (5, 500));
    assert_eq!(
        recorded(&f).await,
        ["Create", "CapacityReserved", "CapacityReleased"],
        "asking recorded nothing"
    );
}

#[tokio::test]
async fn a_booking_holds_room_once_and_a_cancel_gives_it_back_once_with_one_event_each() {
    let f = fleet();
    create(&f, vessel("v1", 5, 500)).await;
    let first = f
        .handler
        .reserve(by_service(reserve("c1", "v1", 2, 200)))
        .await;
    let first = first.unwrap().into_inner();
    assert!(first.held && first.changed, "{first:?}");
    let again = f
        .handler
        .reserve(by_service(reserve("c1", "v1", 2, 200)))
        .await;
    assert!(
        !again.unwrap().into_inner().changed,
        "a repeat holds nothing more"
    );
    assert_eq!(room(&f, "v1").await, (3, 300));
    let given = f.handler.release(by_service(release("c1"))).await.unwrap();
    let given = given.into_inner();
    assert!(!given.held && given.changed, "{given:?}");
    let twice = f.handler.release(by_service(release("c1"))).await.unwrap();
    assert!(!twice.into_inner().changed, "a repeat gives nothing back");
    assert_eq!(room(&f, "v1").await, (5, 500));
    assert_eq!(
        recorded(&f).await,
        ["Create", "CapacityReserved", "CapacityReleased"]
    );
    let late = f
        .handler
        .reserve(by_service(reserve("c1", "v1", 1, 1)))
        .await;
    assert_eq!(late.unwrap_err().code(), Code::Aborted, "released for good");
}

#[tokio::test]
async fn holding_more_than_a_vessel_has_left_is_refused_saying_what_is_left() {
    let f = fleet();
    create(&f, vessel("v1", 2, 500)).await;
    let too_many = f
        .handler
        .reserve(by_service(reserve("c1", "v1", 3, 1)))
        .await;
    let refused = too_many.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        refused.message(),
        "vessel v1 has room for 2 more containers and 500 kg; 3 containers and 1 kg were asked"
    );
    let nowhere = f
        .handler
        .reserve(by_service(reserve("c2", "nowhere", 1, 1)))
        .await;
    assert_eq!(nowhere.unwrap_err().code(), Code::NotFound);
    let empty = f
        .handler
        .release(by_service(release(" ")))
        .await
        .unwrap_err();
    assert_eq!(from_status(&empty).names(), ["consignment_id"]);
    assert_eq!(recorded(&f).await, ["Create"], "no event for a refusal");
}

#[tokio::test]
async fn a_user_past_their_vessel_quota_is_told_which_quota() {
    let repo = Arc::new(MemoryVessels::default());
    let events = Events::new("shippy.log", "shippy.vessel");
    let f = Fleet {
        handler: VesselHandler::new(repo.clone(), events).with_vessels_per_user(2),
        repo,
    };
    create(&f, vessel("a1", 5, 500)).await;
    create(&f, vessel("a2", 5, 500)).await;
    let refused = f
        .handler
        .create(by_alice(vessel("a3", 5, 500)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("limits.vessels_per_user"),
        "names the quota: {refused:?}"
    );
    assert_eq!(
        recorded(&f).await,
        ["Create", "Create"],
        "nothing for the refused one"
    );
}

#[tokio::test]
async fn a_hold_past_the_users_share_is_refused_naming_the_setting_and_the_search_moves_on() {
    let repo = Arc::new(MemoryVessels::default());
    let events = Events::new("shippy.log", "shippy.vessel");
    let f = Fleet {
        handler: VesselHandler::new(repo.clone(), events)
            .with_vessel_share(shippy_vessel::domain::Share::percent(50)),
        repo,
    };
    // Alice's vessels are hers to fill; bob books on them as the saga does for him.
    create(&f, vessel("small", 10, 10_000)).await;
    create(&f, vessel("big", 100, 100_000)).await;
    let for_bob = |consignment: &str, vessel: &str, capacity| ReserveRequest {
        user_id: "bob".into(),
        ..reserve(consignment, vessel, capacity, 100)
    };
    f.handler
        .reserve(by_service(for_bob("c1", "small", 5)))
        .await
        .unwrap();
    let refused = f
        .handler
        .reserve(by_service(for_bob("c2", "small", 1)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    for words in ["50%", "limits.vessel_share_percent", "5 containers"] {
        assert!(refused.message().contains(words), "{}", refused.message());
    }
    let find = |user: &str| Specification {
        capacity: 1,
        max_weight: 100,
        user_id: user.into(),
    };
    let for_him = f.handler.find_available(by_service(find("bob"))).await;
    assert_eq!(for_him.unwrap().into_inner().vessel.unwrap().id, "big");
    // A user asks for themselves, whatever the request names; alice owns both.
    let by_her = f.handler.find_available(by_alice(find("bob"))).await;
    assert_eq!(by_her.unwrap().into_inner().vessel.unwrap().id, "small");
    assert_eq!(
        room(&f, "small").await,
        (5, 9_900),
        "only the first hold took room"
    );
}

#[tokio::test]
async fn a_hold_and_its_release_record_typed_events_in_the_bookings_sequence() {
    use shippy_common::events::Detail;
    let f = fleet();
    create(&f, vessel("v1", 10, 1_000)).await;
    f.handler
        .reserve(by_service(reserve("c1", "v1", 2, 300)))
        .await
        .unwrap();
    f.handler.release(by_service(release("c1"))).await.unwrap();
    let events: Vec<_> = waiting(f.repo.outbox().as_ref())
        .await
        .iter()
        .map(|o| events::from_message(&o.message).unwrap())
        .collect();
    let steps: Vec<_> = events
        .iter()
        .map(|e| (e.subject.as_str(), e.sequence, e.detail.clone().unwrap()))
        .collect();
    assert_eq!(steps.len(), 3, "{steps:?}");
    assert!(
        matches!(&steps[0], ("v1", 1, Detail::VesselCreated(v)) if v.capacity == 10 && !v.seeded)
    );
    let held = shippy_proto::log::CapacityReserved {
        vessel_id: "v1".into(),
        consignment_id: "c1".into(),
        containers: 2,
        weight: 300,
    };
    assert_eq!(steps[1], ("c1", 2, Detail::CapacityReserved(held)));
    assert!(
        matches!(&steps[2], ("c1", 5, Detail::CapacityReleased(r)) if r.containers == 2 && r.weight == 300)
    );
}
