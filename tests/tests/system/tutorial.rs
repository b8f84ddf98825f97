//! The tutorial, end to end, on the five real binaries: through the CLIs, through REST,
//! refusals, and what survives a restart.

use serde_json::{Value, json};
use shippy_common::names;
use shippy_system_tests::{System, eventually, sample};

const PASSWORD: &str = "Testing123";

/// Signs up and logs in through the CLIs; answers the token from the printed export line.
async fn sign_up_and_log_in(system: &System, email: &str) -> String {
    let created = system
        .cli(
            "user-cli",
            &[
                "create",
                "--name",
                "Ewan Valentine",
                "--email",
                email,
                "--company",
                "BBC",
                "--password",
                PASSWORD,
            ],
            None,
        )
        .await;
    assert!(created.success, "{created:?}");
    assert!(!created.stdout.contains(PASSWORD));
    let auth = system
        .cli(
            "user-cli",
            &["auth", "--email", email, "--password", PASSWORD],
            None,
        )
        .await;
    assert!(auth.success, "{auth:?}");
    let export = auth
        .stdout
        .lines()
        .find(|l| l.starts_with("export SHIPPY_TOKEN="))
        .expect("an export line");
    export.trim_start_matches("export SHIPPY_TOKEN=").to_owned()
}

/// The caller's events, once at least `n` are recorded.
async fn events_via_cli(system: &System, token: &str, n: usize) -> Vec<Value> {
    let found = eventually(10, || async {
        let run = system
            .cli("log-cli", &["list", "--json"], Some(token))
            .await;
        let events = run.json()["events"].as_array().cloned().unwrap_or_default();
        (events.len() >= n).then_some(events)
    })
    .await;
    found.unwrap_or_else(|| panic!("fewer than {n} events recorded\n{}", system.logs()))
}

fn origins(events: &[Value]) -> Vec<&str> {
    let mut o: Vec<&str> = events
        .iter()
        .map(|e| e["origin"].as_str().unwrap())
        .collect();
    o.sort_unstable();
    o
}

#[tokio::test]
async fn the_tutorial_works_through_the_clis_and_logs_every_step_with_the_user_id() {
    let mut system = System::start().await;
    let token = sign_up_and_log_in(&system, "ewan@example.com").await;

    let vessels = system
        .cli(
            "vessel-cli",
            &["create", &sample("vessel.json"), "--json"],
            Some(&token),
        )
        .await;
    assert!(vessels.success, "{vessels:?}");
    assert!(
        vessels.stderr.contains("vessel001 already exists"),
        "the seeded vessel is skipped: {vessels:?}"
    );
    assert_eq!(vessels.json()["vessels"].as_array().unwrap().len(), 2);
    let find = |capacity: &'static str, weight: &'static str| {
        let args = [
            "find",
            "--capacity",
            capacity,
            "--max-weight",
            weight,
            "--json",
        ];
        let token = token.clone();
        let system = &system;
        async move { system.cli("vessel-cli", &args, Some(&token)).await }
    };
    let found = find("3", "55000").await;
    assert_eq!(found.json()["vessels"][0]["id"], "vessel002", "{found:?}");
    let found = find("100", "55000").await;
    assert_eq!(found.json()["vessels"][0]["id"], "vessel001", "{found:?}");
    let none = find("30000", "1").await;
    assert!(
        !none.success && none.stderr.contains("30000"),
        "the refusal names the spec: {none:?}"
    );

    let booked = system
        .cli(
            "consignment-cli",
            &["create", &sample("consignment.json"), "--json"],
            Some(&token),
        )
        .await;
    assert!(booked.success, "{booked:?}");
    let booked = booked.json();
    assert_eq!(booked["created"], true);
    assert_eq!(
        booked["consignment"]["vessel_id"], "vessel002",
        "the smallest vessel that fits 3 containers and 55000 kg"
    );

    let listed = system
        .cli("consignment-cli", &["list", "--json"], Some(&token))
        .await
        .json();
    assert_eq!(listed["consignments"][0]["id"], booked["consignment"]["id"]);
    assert_eq!(
        listed["consignments"][0]["containers"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let user_id = booked["consignment"]["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The sign-up, two vessels, and the booking's steps: pending and booked from the
    // consignment service, the reservation from the vessel service.
    let events = events_via_cli(&system, &token, 6).await;
    assert_eq!(
        origins(&events),
        [
            names::CONSIGNMENT,
            names::CONSIGNMENT,
            names::USER,
            names::VESSEL,
            names::VESSEL,
            names::VESSEL
        ]
    );
    let methods: Vec<&str> = events
        .iter()
        .map(|e| e["method"].as_str().unwrap())
        .collect();
    for step in [
        "ConsignmentPending",
        "CapacityReserved",
        "ConsignmentBooked",
    ] {
        assert!(methods.contains(&step), "{step} in {methods:?}");
    }
    assert!(
        events.iter().all(|e| e["user_id"] == user_id.as_str()),
        "{events:?}"
    );
    system.stop_all().await;
}

#[tokio::test]
async fn the_tutorial_works_through_rest() {
    let mut system = System::start().await;
    let (status, body) = system
        .rest("POST", "/api/v1/users", None, Some(json!({"name": "Ann", "company": "Acme", "email": "ann@example.com", "password": PASSWORD})))
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["user"].get("password").is_none() && !body.to_string().contains("argon2"));

    let (status, login) = system
        .rest(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "ann@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().unwrap().to_owned();
    let (status, valid) = system
        .rest(
            "POST",
            "/api/v1/auth/validate",
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(
        (status, &valid["valid"], &valid["user_id"]),
        (200, &json!(true), &login["user_id"])
    );
    assert!(
        !valid.to_string().contains(&token),
        "a validation never repeats the token: {valid}"
    );

    let (status, vessel) = system
        .rest(
            "POST",
            "/api/v1/vessels",
            Some(&token),
            Some(json!({"id": "rest001", "name": "Restful", "capacity": 10, "max_weight": 70000})),
        )
        .await;
    assert_eq!(status, 201, "{vessel}");
    let consignment: Value =
        serde_json::from_str(&std::fs::read_to_string(sample("consignment.json")).unwrap())
            .unwrap();
    let (status, booked) = system
        .rest(
            "POST",
            "/api/v1/consignments",
            Some(&token),
            Some(consignment),
        )
        .await;
    assert_eq!(status, 201, "{booked}");
    assert_eq!(booked["consignment"]["vessel_id"], "rest001");

    let (status, list) = system
        .rest("GET", "/api/v1/consignments", Some(&token), None)
        .await;
    assert_eq!(
        (status, &list["consignments"][0]["id"]),
        (200, &booked["consignment"]["id"])
    );
    let events = eventually(10, || async {
        let (_, logs) = system
            .rest("GET", "/api/v1/logs?limit=10", Some(&token), None)
            .await;
        let events = logs["events"].as_array().cloned().unwrap_or_default();
        (events.len() >= 5).then_some(events)
    })
    .await
    .expect("the sign-up, the vessel and the booking's three steps");
    let times: Vec<i64> = events
        .iter()
        .map(|e| e["time_unix_ms"].as_i64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let methods: Vec<&str> = events
        .iter()
        .map(|e| e["method"].as_str().unwrap())
        .collect();
    for step in [
        "ConsignmentPending",
        "CapacityReserved",
        "ConsignmentBooked",
    ] {
        assert!(methods.contains(&step), "{step} in {methods:?}");
    }
    system.stop_all().await;
}

#[tokio::test]
async fn bad_input_is_refused_unstored_and_impossible_consignments_end_rejected_holding_nothing() {
    let mut system = System::start().await;
    let token = sign_up_and_log_in(&system, "bad@example.com").await;
    let too_heavy = json!({"description": "lead", "weight": 2_000_000_000, "containers": [{"customer_id": "c", "origin": "x"}]});
    let (status, body) = system
        .rest(
            "POST",
            "/api/v1/consignments",
            Some(&token),
            Some(too_heavy),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no available vessel"),
        "{body}"
    );

    for (bad, field) in [
        (
            json!({"description": "", "weight": 1, "containers": [{}]}),
            "description",
        ),
        (
            json!({"description": "d", "weight": 0, "containers": [{}]}),
            "weight",
        ),
        (
            json!({"description": "d", "weight": 1, "containers": []}),
            "containers",
        ),
    ] {
        let (status, body) = system
            .rest("POST", "/api/v1/consignments", Some(&token), Some(bad))
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_argument")),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{body}"
        );
    }
    // Every field a service refuses comes back at once, each with its code.
    let fields = |body: &serde_json::Value| -> Vec<String> {
        body["error"]["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                format!(
                    "{} {}",
                    f["field"].as_str().unwrap(),
                    f["code"].as_str().unwrap()
                )
            })
            .collect()
    };
    let every_field_wrong = [
        (
            "/api/v1/users",
            None,
            json!({"name": " ", "email": "not-an-email", "password": "short"}),
            ["name required", "email bad_format", "password too_small"],
        ),
        (
            "/api/v1/vessels",
            Some(token.as_str()),
            json!({"name": "", "capacity": 0, "max_weight": -1}),
            [
                "name required",
                "capacity too_small",
                "max_weight too_small",
            ],
        ),
        (
            "/api/v1/consignments",
            Some(token.as_str()),
            json!({"description": "", "weight": 0, "containers": []}),
            [
                "description required",
                "weight too_small",
                "containers required",
            ],
        ),
    ];
    for (path, caller, bad, expected) in every_field_wrong {
        let (status, body) = system.rest("POST", path, caller, Some(bad)).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(fields(&body), expected, "{path}: {body}");
    }
    let (_, body) = system
        .rest("GET", "/api/v1/consignments", Some(&token), None)
        .await;
    assert_eq!(
        body["consignments"].as_array().map(Vec::len),
        Some(1),
        "only the rejected one is stored: {body}"
    );

    // The same through the CLIs: a non-zero exit and one line saying why.
    let heavy = system.dir.path().join("heavy.json");
    std::fs::write(
        &heavy,
        json!({"description": "lead", "weight": 2_000_000_000, "containers": [{"customer_id": "c", "origin": "x"}]})
            .to_string(),
    )
    .unwrap();
    let heavy = heavy.display().to_string();
    let refusals = [
        (Some(token.as_str()), "no available vessel"),
        (None, "no token"),
        (Some("garbage"), "malformed token"),
    ];
    for (cli_token, reason) in refusals {
        let run = system
            .cli("consignment-cli", &["create", &heavy], cli_token)
            .await;
        assert!(!run.success, "{run:?}");
        assert!(run.stdout.is_empty(), "{run:?}");
        assert_eq!(run.stderr.trim().lines().count(), 1, "one line: {run:?}");
        assert!(run.stderr.contains(reason), "{reason}: {run:?}");
    }
    let run = system
        .cli("consignment-cli", &["--token", "garbage", "list"], None)
        .await;
    assert!(
        !run.success && run.stderr.contains("malformed token"),
        "{run:?}"
    );

    // Bad input stored nothing; the two impossible bookings (REST and CLI) are kept as
    // rejected, with the reason, on no vessel.
    let (_, list) = system
        .rest("GET", "/api/v1/consignments", Some(&token), None)
        .await;
    let list = list["consignments"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    for c in list {
        assert_eq!(
            (&c["status"], &c["vessel_id"]),
            (&json!("rejected"), &json!("")),
            "{c}"
        );
        assert!(
            c["reason"]
                .as_str()
                .unwrap()
                .contains("no available vessel"),
            "{c}"
        );
    }

    let (status, body) = system
        .rest(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "bad@example.com", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let (status, _) = system
        .rest(
            "POST",
            "/api/v1/users",
            None,
            Some(json!({"name": "Dup", "email": "bad@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 409);
    system.stop_all().await;
}

#[tokio::test]
async fn everything_survives_a_restart_and_events_sent_while_the_log_service_was_down_arrive() {
    let mut system = System::start().await;
    let token = sign_up_and_log_in(&system, "dura@example.com").await;
    let vessels = system
        .cli(
            "vessel-cli",
            &["create", &sample("vessel.json")],
            Some(&token),
        )
        .await;
    assert!(vessels.success, "{vessels:?}");
    let booked = system
        .cli(
            "consignment-cli",
            &["create", &sample("consignment.json"), "--json"],
            Some(&token),
        )
        .await;
    assert!(booked.success, "{booked:?}");
    // The sign-up, two vessels, and the booking's three steps.
    events_via_cli(&system, &token, 6).await;

    system.stop_service(names::LOG).await;
    let while_down = system
        .cli(
            "consignment-cli",
            &["create", &sample("consignment.json"), "--json"],
            Some(&token),
        )
        .await;
    assert!(
        while_down.success,
        "a write needs no log service: {while_down:?}"
    );

    system.stop_all().await;
    for service in names::ALL {
        system.start_service(service).await;
    }
    let listed = system
        .cli("consignment-cli", &["list", "--json"], Some(&token))
        .await
        .json();
    assert_eq!(
        listed["consignments"].as_array().unwrap().len(),
        2,
        "{listed}"
    );
    let me = system
        .cli("user-cli", &["me", "--json"], Some(&token))
        .await
        .json();
    assert_eq!(me["user"]["email"], "dura@example.com");
    let vessels = system
        .cli("vessel-cli", &["list", "--json"], Some(&token))
        .await
        .json();
    assert!(
        vessels["vessels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == "vessel002"),
        "the vessel created before the restart is still there: {vessels}"
    );
    let events = events_via_cli(&system, &token, 9).await;
    let id = while_down.json()["consignment"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        events
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains(&id)),
        "{events:?}"
    );
    assert_eq!(events.len(), 9, "no event recorded twice: {events:?}");
    system.stop_all().await;
}
