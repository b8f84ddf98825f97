//! The vessel repository contract, run against every adapter with `vessel_repo_contract!`.

use std::sync::Arc;

use shippy_common::paging::PageRequest;
use shippy_common::paging::testing::walk as walk_pages;
use shippy_plugins::outbox::Outgoing;
use shippy_plugins::outbox::contract::{outgoing, waiting};

use super::{ReleaseEvent, RepoError, VesselRepository};
use crate::domain::{
    Hold, Holder, Reservation, Reserved, Share, Specification, Vessel, VesselFilter,
};

/// The event that goes with creating `id`.
pub fn created(id: &str) -> Outgoing {
    outgoing("shippy.log", "owner", &format!("created {id}"))
}

pub fn vessel(id: &str, capacity: i32, max_weight: i32, available: bool) -> Vessel {
    Vessel {
        id: id.into(),
        capacity,
        max_weight,
        name: format!("ship {id}"),
        available,
        owner_id: "owner".into(),
        remaining_capacity: capacity,
        remaining_weight: max_weight,
    }
}

fn hold(consignment: &str, vessel: &str, capacity: i32, weight: i32) -> Hold {
    Hold::parse(consignment, vessel, capacity, weight, "alice").unwrap()
}

fn reserved_event(consignment: &str) -> Outgoing {
    outgoing(
        "shippy.log",
        "alice",
        &format!("reserved for {consignment}"),
    )
}

fn released_event() -> ReleaseEvent {
    Box::new(|r: &Reservation| {
        outgoing(
            "shippy.log",
            "alice",
            &format!("released for {}", r.consignment_id),
        )
    })
}

/// The first page of the largest size: every vessel in these small cases.
pub async fn all(r: &dyn VesselRepository) -> Vec<Vessel> {
    let page = PageRequest::first(shippy_common::paging::MAX_PAGE_SIZE);
    r.list(&VesselFilter::default(), &page).await.unwrap()
}

async fn room(r: &Arc<dyn VesselRepository>, id: &str) -> (i32, i32) {
    let v = all(r.as_ref())
        .await
        .into_iter()
        .find(|v| v.id == id)
        .unwrap();
    (v.remaining_capacity, v.remaining_weight)
}

/// The id of the vessel the search answers for `capacity` containers and `max_weight`, for
/// `holder`.
async fn found_for(
    r: &Arc<dyn VesselRepository>,
    capacity: i32,
    max_weight: i32,
    holder: Holder,
) -> Option<String> {
    r.find_available(spec(capacity, max_weight), &holder)
        .await
        .unwrap()
        .map(|v| v.id)
}

fn spec(capacity: i32, max_weight: i32) -> Specification {
    Specification {
        capacity,
        max_weight,
    }
}

pub async fn the_smallest_available_vessel_that_fits_is_found(r: Arc<dyn VesselRepository>) {
    r.create(&vessel("big", 20_000, 199_000_000, true), &created("big"))
        .await
        .unwrap();
    r.create(&vessel("mid", 500, 200_000, true), &created("mid"))
        .await
        .unwrap();
    r.create(&vessel("small", 50, 60_000, true), &created("small"))
        .await
        .unwrap();
    r.create(&vessel("idle", 10, 1_000, false), &created("idle"))
        .await
        .unwrap();
    let found = |c, w| found_for(&r, c, w, Holder::default());
    assert_eq!(found(3, 55_000).await.as_deref(), Some("small"));
    assert_eq!(found(3, 61_000).await.as_deref(), Some("mid"));
    assert_eq!(found(501, 1).await.as_deref(), Some("big"));
    assert_eq!(
        found(1, 500).await.as_deref(),
        Some("small"),
        "unavailable vessels never fit"
    );
    assert_eq!(found(20_001, 1).await, None);
}

pub async fn the_search_passes_over_light_and_full_vessels_of_each_size_in_order(
    r: Arc<dyn VesselRepository>,
) {
    let full = |id: &str, capacity, weight| Vessel {
        remaining_capacity: 0,
        remaining_weight: 0,
        ..vessel(id, capacity, weight, true)
    };
    for v in [
        vessel("light", 10, 100, true),
        full("heavy-full", 10, 1_000),
        vessel("heavier", 10, 2_000, true),
        vessel("heaviest", 10, 9_000, true),
        vessel("bigger", 20, 500, true),
        vessel("biggest", 30, 5_000, true),
    ] {
        r.create(&v, &created(&v.id)).await.unwrap();
    }
    let found = |c, w| found_for(&r, c, w, Holder::default());
    assert_eq!(found(5, 50).await.as_deref(), Some("light"));
    assert_eq!(
        found(5, 900).await.as_deref(),
        Some("heavier"),
        "past the lighter and the full one of the same size"
    );
    assert_eq!(found(5, 3_000).await.as_deref(), Some("heaviest"));
    assert_eq!(
        found(5, 9_500).await,
        None,
        "no size has a vessel that heavy with room"
    );
    assert_eq!(found(15, 100).await.as_deref(), Some("bigger"));
    assert_eq!(found(15, 600).await.as_deref(), Some("biggest"));
}

pub async fn a_created_vessel_is_listed_with_every_field(r: Arc<dyn VesselRepository>) {
    let v = vessel("v1", 5, 500, true);
    r.create(&v, &created("v1")).await.unwrap();
    assert_eq!(all(r.as_ref()).await, vec![v]);
}

/// Walks the vessels `filter` admits, `size` a page, creating each of `between` (one per
/// page) after a page; answers the ids seen, in order.
async fn walk(
    r: &Arc<dyn VesselRepository>,
    filter: &VesselFilter,
    size: usize,
    between: Vec<Vessel>,
) -> Vec<String> {
    let mut between = between.into_iter();
    let rows = walk_pages(
        size,
        Vessel::key,
        async |page| r.list(filter, page).await.unwrap(),
        async || {
            if let Some(v) = between.next() {
                r.create(&v, &created(&v.id)).await.unwrap();
            }
        },
    )
    .await;
    rows.into_iter().map(|v| v.id).collect()
}

pub async fn a_walk_through_the_pages_sees_every_vessel_once_whatever_is_added_between(
    r: Arc<dyn VesselRepository>,
) {
    // Sizes that tie on capacity and on weight too, so the id decides.
    let there: Vec<Vessel> = (0..11)
        .map(|i| {
            vessel(
                &format!("v{i:02}"),
                10 * (i % 4 + 1),
                100 * (i % 2 + 1),
                true,
            )
        })
        .collect();
    for v in &there {
        r.create(v, &created(&v.id)).await.unwrap();
    }
    // Added while the walk goes on: before where it stands, after it, and on its ties.
    let between: Vec<Vessel> = [(1, 100), (50, 100), (20, 100), (40, 200), (5, 1)]
        .into_iter()
        .enumerate()
        .map(|(i, (c, w))| vessel(&format!("new{i}"), c, w, true))
        .collect();
    let seen = walk(&r, &VesselFilter::default(), 3, between).await;
    for v in &there {
        let times = seen.iter().filter(|id| **id == v.id).count();
        assert_eq!(times, 1, "{} seen {times} times in {seen:?}", v.id);
    }
    let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "nothing twice: {seen:?}");
    let listed = all(r.as_ref()).await;
    let order: Vec<&String> = listed.iter().map(|v| &v.id).collect();
    let walked: Vec<&String> = order
        .iter()
        .copied()
        .filter(|id| seen.contains(id))
        .collect();
    assert_eq!(
        seen.iter().collect::<Vec<_>>(),
        walked,
        "in the list's order"
    );
}

pub async fn a_filtered_walk_holds_its_filter_on_every_page(r: Arc<dyn VesselRepository>) {
    let mut expected = Vec::new();
    for i in 0..9 {
        let mut v = vessel(&format!("v{i}"), 10 + i, 100, i % 3 != 0);
        v.owner_id = if i % 2 == 0 { "alice" } else { "bob" }.into();
        r.create(&v, &created(&v.id)).await.unwrap();
        if v.owner_id == "alice" && v.available {
            expected.push(v.id);
        }
    }
    let alices = VesselFilter::new("alice", true, true);
    assert_eq!(walk(&r, &alices, 2, vec![]).await, expected);
    let bobs = VesselFilter::new("bob", true, false);
    assert_eq!(walk(&r, &bobs, 2, vec![]).await, ["v1", "v3", "v5", "v7"]);
    let available = walk(&r, &VesselFilter::new("bob", false, true), 4, vec![]).await;
    assert_eq!(available.len(), 6, "{available:?}");
}

pub async fn an_owner_past_their_vessel_quota_stores_nothing(r: Arc<dyn VesselRepository>) {
    let mine = |id: &str, owner: &str| {
        let mut v = vessel(id, 5, 500, true);
        v.owner_id = owner.into();
        v
    };
    for i in 0..3 {
        let v = mine(&format!("a{i}"), "alice");
        r.create_within(&v, &created(&v.id), 3).await.unwrap();
    }
    let past = r
        .create_within(&mine("a3", "alice"), &created("a3"), 3)
        .await;
    assert!(matches!(past, Err(RepoError::QuotaReached)), "{past:?}");
    r.create_within(&mine("b0", "bob"), &created("b0"), 3)
        .await
        .expect("each owner has their own");
    r.create_within(&mine("a4", "alice"), &created("a4"), 0)
        .await
        .expect("0 is no limit");
    let ids: Vec<String> = all(r.as_ref()).await.into_iter().map(|v| v.id).collect();
    assert!(!ids.contains(&"a3".to_owned()), "{ids:?}");
    let pending = waiting(r.outbox().as_ref()).await;
    assert!(
        !pending.contains(&created("a3")),
        "no event for what was refused"
    );
}

pub async fn a_create_enqueues_its_event_and_a_refused_one_enqueues_none(
    r: Arc<dyn VesselRepository>,
) {
    let outbox = r.outbox();
    r.create(&vessel("v1", 5, 500, true), &created("v1"))
        .await
        .unwrap();
    let dup = outgoing("shippy.log", "owner", "duplicate");
    assert!(r.create(&vessel("v1", 6, 600, true), &dup).await.is_err());
    let pending = waiting(outbox.as_ref()).await;
    assert_eq!(pending, vec![created("v1")]);
}

pub async fn a_duplicate_id_is_refused(r: Arc<dyn VesselRepository>) {
    r.create(&vessel("v1", 5, 500, true), &created("v1"))
        .await
        .unwrap();
    let dup = r.create(&vessel("v1", 6, 600, true), &created("v1")).await;
    assert!(matches!(dup, Err(RepoError::DuplicateId)), "{dup:?}");
    assert_eq!(all(r.as_ref()).await[0].capacity, 5);
}

pub async fn a_reservation_takes_room_and_full_vessels_are_not_offered(
    r: Arc<dyn VesselRepository>,
) {
    r.create(&vessel("small", 2, 10_000, true), &created("small"))
        .await
        .unwrap();
    r.create(&vessel("big", 100, 100_000, true), &created("big"))
        .await
        .unwrap();
    let made = r
        .reserve(&hold("c1", "small", 2, 4_000), &reserved_event("c1"))
        .await;
    assert_eq!(
        made.unwrap(),
        Reserved::Made(hold("c1", "small", 2, 4_000).held())
    );
    assert_eq!(room(&r, "small").await, (0, 6_000));
    let next = r
        .find_available(spec(1, 1), &Holder::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(next.id, "big", "a vessel with no room left is not offered");
    assert_eq!(
        r.reservation("c1").await.unwrap(),
        Some(hold("c1", "small", 2, 4_000).held())
    );
}

pub async fn reserving_twice_for_one_consignment_holds_once(r: Arc<dyn VesselRepository>) {
    r.create(&vessel("a", 10, 10_000, true), &created("a"))
        .await
        .unwrap();
    r.create(&vessel("b", 10, 10_000, true), &created("b"))
        .await
        .unwrap();
    let outbox = r.outbox();
    let before = waiting(outbox.as_ref()).await.len();
    r.reserve(&hold("c1", "a", 3, 3_000), &reserved_event("c1"))
        .await
        .unwrap();
    let again = r
        .reserve(&hold("c1", "b", 3, 3_000), &reserved_event("c1"))
        .await
        .unwrap();
    assert_eq!(
        again,
        Reserved::AlreadyHeld(hold("c1", "a", 3, 3_000).held()),
        "a repeat answers the reservation held, wherever it is"
    );
    assert_eq!(room(&r, "a").await, (7, 7_000));
    assert_eq!(room(&r, "b").await, (10, 10_000));
    assert_eq!(
        waiting(outbox.as_ref()).await.len(),
        before + 1,
        "one event"
    );
}

pub async fn a_refused_reservation_changes_nothing(r: Arc<dyn VesselRepository>) {
    r.create(&vessel("a", 2, 1_000, true), &created("a"))
        .await
        .unwrap();
    r.create(&vessel("idle", 20, 20_000, false), &created("idle"))
        .await
        .unwrap();
    let outbox = r.outbox();
    let before = waiting(outbox.as_ref()).await.len();
    let too_many = r
        .reserve(&hold("c1", "a", 3, 1), &reserved_event("c1"))
        .await;
    assert!(
        matches!(&too_many, Ok(Reserved::NoRoom(v)) if v.remaining_capacity == 2),
        "{too_many:?}"
    );
    let too_heavy = r
        .reserve(&hold("c2", "a", 1, 1_001), &reserved_event("c2"))
        .await;
    assert!(
        matches!(too_heavy, Ok(Reserved::NoRoom(_))),
        "{too_heavy:?}"
    );
    let idle = r
        .reserve(&hold("c3", "idle", 1, 1), &reserved_event("c3"))
        .await;
    assert!(
        matches!(idle, Ok(Reserved::NoRoom(_))),
        "an unavailable vessel takes nothing"
    );
    let nowhere = r
        .reserve(&hold("c4", "nowhere", 1, 1), &reserved_event("c4"))
        .await;
    assert_eq!(nowhere.unwrap(), Reserved::NoVessel);
    assert_eq!(room(&r, "a").await, (2, 1_000));
    assert_eq!(r.reservation("c1").await.unwrap(), None);
    assert_eq!(
        waiting(outbox.as_ref()).await.len(),
        before,
        "no event for a refusal"
    );
    // A refusal is not remembered: the same consignment may try again, or elsewhere.
    r.reserve(&hold("c1", "a", 2, 1), &reserved_event("c1"))
        .await
        .unwrap();
}

pub async fn a_release_gives_room_back_once(r: Arc<dyn VesselRepository>) {
    r.create(&vessel("a", 5, 5_000, true), &created("a"))
        .await
        .unwrap();
    r.reserve(&hold("c1", "a", 2, 2_000), &reserved_event("c1"))
        .await
        .unwrap();
    let outbox = r.outbox();
    let before = waiting(outbox.as_ref()).await.len();
    let first = r.release("c1", released_event()).await.unwrap();
    assert!(first.changed && !first.reservation.held, "{first:?}");
    assert_eq!(first.reservation.vessel_id, "a");
    let second = r.release("c1", released_event()).await.unwrap();
    assert!(!second.changed, "releasing again changes nothing");
    assert_eq!(room(&r, "a").await, (5, 5_000), "given back exactly once");
    assert_eq!(
        waiting(outbox.as_ref()).await.len(),
        before + 1,
        "one event"
    );
    let again = r
        .reserve(&hold("c1", "a", 2, 2_000), &reserved_event("c1"))
        .await;
    assert!(matches!(again, Ok(Reserved::WasReleased(_))), "{again:?}");
    assert_eq!(room(&r, "a").await, (5, 5_000));
}

pub async fn a_release_that_comes_first_makes_the_late_reservation_impossible(
    r: Arc<dyn VesselRepository>,
) {
    r.create(&vessel("a", 5, 5_000, true), &created("a"))
        .await
        .unwrap();
    let early = r.release("c1", released_event()).await.unwrap();
    assert!(
        !early.changed && early.reservation.vessel_id.is_empty(),
        "{early:?}"
    );
    let late = r
        .reserve(&hold("c1", "a", 1, 1), &reserved_event("c1"))
        .await;
    assert!(matches!(late, Ok(Reserved::WasReleased(_))), "{late:?}");
    assert_eq!(room(&r, "a").await, (5, 5_000));
}

/// Many callers at once for the last room: exactly as many as fit get it.
pub async fn concurrent_reservations_never_take_more_than_the_vessel_has(
    r: Arc<dyn VesselRepository>,
) {
    const ROOM: i32 = 6;
    r.create(&vessel("a", ROOM, 60_000, true), &created("a"))
        .await
        .unwrap();
    let made = race(
        &r,
        ROOM * 4,
        |id| hold(id, "a", 1, 1_000),
        |o| matches!(o, Reserved::NoRoom(_)),
    )
    .await;
    assert_eq!(made, ROOM);
    assert_eq!(room(&r, "a").await, (0, 60_000 - ROOM * 1_000));
}

/// Runs `n` holds at once, the `i`-th `hold("c{i}")`; answers how many were made, every
/// other having been refused as `refused` says.
async fn race(
    r: &Arc<dyn VesselRepository>,
    n: i32,
    hold: impl Fn(&str) -> Hold,
    refused: impl Fn(&Reserved) -> bool,
) -> i32 {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (r, id) = (Arc::clone(r), format!("c{i}"));
            let hold = hold(&id);
            tokio::spawn(async move { r.reserve(&hold, &reserved_event(&id)).await })
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(Reserved::Made(_)) => made += 1,
            Ok(other) if refused(&other) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    made
}

/// Alice's hold, held to half of a vessel she does not own.
fn half_hold(consignment: &str, vessel: &str, capacity: i32, weight: i32) -> Hold {
    hold(consignment, vessel, capacity, weight).within(Share::percent(50))
}

pub async fn a_holder_never_passes_their_share_of_a_vessel_they_do_not_own(
    r: Arc<dyn VesselRepository>,
) {
    r.create(&vessel("a", 10, 10_000, true), &created("a"))
        .await
        .unwrap();
    let made = r
        .reserve(&half_hold("c1", "a", 4, 1_000), &reserved_event("c1"))
        .await
        .unwrap();
    assert!(matches!(made, Reserved::Made(_)), "{made:?}");
    // 4 + 2 > 5 containers: refused, saying what she holds, and nothing taken.
    let refused = r
        .reserve(&half_hold("c2", "a", 2, 1_000), &reserved_event("c2"))
        .await
        .unwrap();
    assert!(
        matches!(&refused, Reserved::OverShare(v, (4, 1_000)) if v.id == "a"),
        "{refused:?}"
    );
    assert_eq!(room(&r, "a").await, (6, 9_000));
    assert_eq!(r.reservation("c2").await.unwrap(), None);
    // Weight counts too: 1,000 + 4,001 kg > 5,000.
    let heavy = r
        .reserve(&half_hold("c3", "a", 1, 4_001), &reserved_event("c3"))
        .await
        .unwrap();
    assert!(matches!(heavy, Reserved::OverShare(..)), "{heavy:?}");
    // Within the share, and again once room she held is given back.
    let fits = r
        .reserve(&half_hold("c4", "a", 1, 1_000), &reserved_event("c4"))
        .await
        .unwrap();
    assert!(matches!(fits, Reserved::Made(_)), "{fits:?}");
    r.release("c1", released_event()).await.unwrap();
    let after = r
        .reserve(&half_hold("c2", "a", 4, 1_000), &reserved_event("c2"))
        .await
        .unwrap();
    assert!(matches!(after, Reserved::Made(_)), "{after:?}");
    // Another user's share is their own, and the owner may fill what is left.
    let bob = Hold::parse("c5", "a", 1, 1_000, "bob")
        .unwrap()
        .within(Share::percent(50));
    let bobs = r.reserve(&bob, &reserved_event("c5")).await.unwrap();
    assert!(matches!(bobs, Reserved::Made(_)), "{bobs:?}");
    // 7,000 kg is more than half the vessel's weight: the owner's is not capped.
    let owners = Hold::parse("c6", "a", 4, 7_000, "owner")
        .unwrap()
        .within(Share::percent(50));
    let owned = r.reserve(&owners, &reserved_event("c6")).await.unwrap();
    assert!(matches!(owned, Reserved::Made(_)), "{owned:?}");
    assert_eq!(room(&r, "a").await, (0, 0));
}

pub async fn the_search_passes_over_vessels_where_the_holder_has_their_share(
    r: Arc<dyn VesselRepository>,
) {
    r.create(&vessel("small", 10, 10_000, true), &created("small"))
        .await
        .unwrap();
    r.create(&vessel("big", 100, 100_000, true), &created("big"))
        .await
        .unwrap();
    let alice = Holder::new("alice", Share::percent(50));
    let found = |holder: Holder, c: i32| found_for(&r, c, 1_000, holder);
    assert_eq!(found(alice.clone(), 5).await.as_deref(), Some("small"));
    assert_eq!(
        found(alice.clone(), 6).await.as_deref(),
        Some("big"),
        "6 of 10 is more than half"
    );
    r.reserve(&half_hold("c1", "small", 4, 1_000), &reserved_event("c1"))
        .await
        .unwrap();
    assert_eq!(found(alice.clone(), 1).await.as_deref(), Some("small"));
    assert_eq!(found(alice.clone(), 2).await.as_deref(), Some("big"));
    let bob = Holder::new("bob", Share::percent(50));
    assert_eq!(found(bob, 5).await.as_deref(), Some("small"));
    let owner = Holder::new("owner", Share::percent(50));
    assert_eq!(found(owner, 6).await.as_deref(), Some("small"));
    assert_eq!(
        found(alice, 51).await,
        None,
        "more than half of every vessel"
    );
}

pub async fn concurrent_holds_of_one_user_never_pass_their_share(r: Arc<dyn VesselRepository>) {
    const SHARE: i32 = 5;
    r.create(&vessel("a", SHARE * 2, 60_000, true), &created("a"))
        .await
        .unwrap();
    let made = race(
        &r,
        SHARE * 4,
        |id| half_hold(id, "a", 1, 1_000),
        |o| matches!(o, Reserved::OverShare(..)),
    )
    .await;
    assert_eq!(made, SHARE);
    assert_eq!(room(&r, "a").await, (SHARE, 60_000 - SHARE * 1_000));
}

#[macro_export]
macro_rules! vessel_repo_contract {
    // Cases that need test servers (`shippy_plugins::test_servers::TestServer`s): each is
    // skipped, saying why, when one is not running.
    (needs [$($server:expr),*], $make:expr) => {
        $crate::vessel_repo_contract!(@cases [$($server),*] $make;
            the_smallest_available_vessel_that_fits_is_found,
            the_search_passes_over_light_and_full_vessels_of_each_size_in_order,
            a_created_vessel_is_listed_with_every_field,
            a_walk_through_the_pages_sees_every_vessel_once_whatever_is_added_between,
            a_filtered_walk_holds_its_filter_on_every_page,
            a_create_enqueues_its_event_and_a_refused_one_enqueues_none,
            a_duplicate_id_is_refused,
            an_owner_past_their_vessel_quota_stores_nothing,
            a_reservation_takes_room_and_full_vessels_are_not_offered,
            reserving_twice_for_one_consignment_holds_once,
            a_refused_reservation_changes_nothing,
            a_release_gives_room_back_once,
            a_release_that_comes_first_makes_the_late_reservation_impossible,
            concurrent_reservations_never_take_more_than_the_vessel_has,
            a_holder_never_passes_their_share_of_a_vessel_they_do_not_own,
            the_search_passes_over_vessels_where_the_holder_has_their_share,
            concurrent_holds_of_one_user_never_pass_their_share,
        );
    };
    ($make:expr) => {
        $crate::vessel_repo_contract!(needs [], $make);
    };
    (@cases $servers:tt $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                if !::shippy_plugins::test_servers::all_present(&$servers) {
                    return;
                }
                $crate::repo::contract::$case($make.await).await;
            }
        )+
    };
}
