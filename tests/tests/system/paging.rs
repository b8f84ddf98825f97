//! Lists past one gRPC message. A fleet whose list would be about 4.7 MB as one answer (past
//! gRPC's 4 MiB, which made `GET /api/v1/vessels` a 400 for everyone before lists paged) is
//! listed whole, a page at a time, through REST and through `vessel-cli list --all`; a
//! token from another query is refused with words; the filters hold on every page.

use std::collections::BTreeSet;

use serde_json::Value;
use shippy_common::names;
use shippy_proto::vessel::Vessel;
use shippy_proto::vessel::vessel_service_client::VesselServiceClient;
use shippy_system_tests::System;

/// Vessels registered: with 256-character names, more than one gRPC message carries.
const FLEET: usize = 12_000;

/// Registers [`FLEET`] vessels straight at vessel-service, as the holder of `token`, 16 at
/// a time.
async fn register_fleet(system: &System, token: &str) {
    let url = system.grpc_url(names::VESSEL).await;
    let client = VesselServiceClient::connect(url).await.unwrap();
    let workers = (0..16).map(|worker| {
        let mut client = client.clone();
        let bearer = format!("Bearer {token}");
        async move {
            for i in (worker..FLEET).step_by(16) {
                let vessel = Vessel {
                    id: format!("fleet-{i:05}"),
                    name: format!("{i:05}{}", "x".repeat(251)),
                    capacity: 1 + i32::try_from(i % 700).unwrap(),
                    max_weight: 1_000,
                    available: true,
                    ..Default::default()
                };
                let mut request = tonic::Request::new(vessel);
                request
                    .metadata_mut()
                    .insert("authorization", bearer.parse().unwrap());
                client.create(request).await.unwrap();
            }
        }
    });
    shippy_system_tests::join_all(workers).await;
}

/// Walks `GET /api/v1/vessels?{query}` page by page; answers every vessel id and the pages.
async fn walk_rest(system: &System, token: &str, query: &str) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut page_token) = (Vec::new(), 0, String::new());
    loop {
        let path = format!("/api/v1/vessels?{query}&page_token={page_token}");
        let (status, body) = system.rest("GET", &path, Some(token), None).await;
        assert_eq!(status, 200, "page {pages}: {body}");
        let vessels = body["vessels"].as_array().unwrap();
        ids.extend(vessels.iter().map(|v| v["id"].as_str().unwrap().to_owned()));
        pages += 1;
        page_token = body["next_page_token"].as_str().unwrap().to_owned();
        if page_token.is_empty() {
            return (ids, pages);
        }
    }
}

#[tokio::test]
async fn a_fleet_bigger_than_one_grpc_message_lists_whole_through_rest_and_the_cli() {
    // Registering 12,000 vessels at once is the test's own doing, not a user's: no rate
    // limit, no quota.
    let mut system = System::start_with(&[
        ("SHIPPY_LIMITS__REQUESTS_PER_SEC", "0"),
        ("SHIPPY_LIMITS__VESSELS_PER_USER", "0"),
    ])
    .await;
    let owner = system.rest_user("fleet-owner@example.com").await;
    register_fleet(&system, &owner).await;
    let shipper = system.rest_user("shipper@example.com").await;

    // The first page is the default 50, and says where the next starts.
    let (status, first) = system
        .rest("GET", "/api/v1/vessels", Some(&shipper), None)
        .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["vessels"].as_array().unwrap().len(), 50);
    let next = first["next_page_token"].as_str().unwrap().to_owned();
    assert!(!next.is_empty());

    // Every vessel, each once, smallest first, in pages of at most 500.
    let (ids, pages) = walk_rest(&system, &shipper, "page_size=100000").await;
    assert_eq!(ids.len(), FLEET + 1, "the fleet and the seeded vessel001");
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len());
    assert_eq!(
        pages,
        (FLEET + 1).div_ceil(500),
        "page_size past 500 gives 500"
    );

    // A token is bound to its query and its user.
    for (who, path) in [
        (
            "another filter",
            format!("/api/v1/vessels?mine=true&page_token={next}"),
        ),
        (
            "garbled",
            "/api/v1/vessels?page_token=not-a-token".to_owned(),
        ),
    ] {
        let (status, body) = system.rest("GET", &path, Some(&shipper), None).await;
        assert_eq!(status, 400, "{who}: {body}");
        assert_eq!(
            body["error"]["fields"][0]["field"], "page_token",
            "{who}: {body}"
        );
    }
    let (status, body) = system
        .rest(
            "GET",
            &format!("/api/v1/vessels?page_token={next}"),
            Some(&owner),
            None,
        )
        .await;
    assert_eq!(status, 400, "another user's token: {body}");

    // The filters hold on every page: the owner's own, none of the shipper's.
    let (mine, _) = walk_rest(&system, &owner, "mine=true&page_size=500").await;
    assert_eq!(mine.len(), FLEET);
    let (none, pages) = walk_rest(&system, &shipper, "mine=true&available=true").await;
    assert_eq!((none.len(), pages), (0, 1));

    // The CLI follows the cursor with --all.
    let listed = system
        .cli("vessel-cli", &["--json", "list", "--all"], Some(&shipper))
        .await;
    assert!(listed.success, "{listed:?}");
    let json = listed.json();
    let vessels: &Vec<Value> = json["vessels"].as_array().unwrap();
    assert_eq!(vessels.len(), FLEET + 1);
    assert_eq!(json["next_page_token"], "");
    let one_page = system
        .cli("vessel-cli", &["list", "--page-size", "3"], Some(&shipper))
        .await;
    assert!(one_page.success, "{one_page:?}");
    assert!(one_page.stderr.contains("--page-token"), "{one_page:?}");
    system.stop_all().await;
}
