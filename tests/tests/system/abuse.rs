//! What one client can do to shippy without an account, and what one account can read, from
//! the attacker's side against the real binaries: a flood of sign-ups and wrong log-ins
//! leaves user-service's memory bounded (argon2 takes 19 MiB a hash), and a fresh account
//! reads nobody else's details by any route or RPC.

use serde_json::{Value, json};
use shippy_common::names;
use shippy_proto::tonic::{self, Code};
use shippy_proto::user::user_service_client::UserServiceClient;
use shippy_proto::user::{Request as ListAll, User};
use shippy_system_tests::{System, http_from, join_all};

/// The most memory the process `pid` has held at once (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib / 1024
}

fn person(n: usize, password: &str) -> User {
    User {
        name: format!("Flood {n}"),
        email: format!("flood{n}@example.com"),
        password: password.into(),
        ..User::default()
    }
}

#[tokio::test]
async fn sixty_four_sign_ups_and_sixty_four_wrong_log_ins_at_once_keep_user_service_small() {
    let mut system = System::start().await;
    let users = UserServiceClient::connect(system.grpc_url(names::USER).await)
        .await
        .unwrap();
    let codes = |results: Vec<Result<(), tonic::Status>>| {
        results
            .into_iter()
            .map(|r| r.err().map_or(Code::Ok, |s| s.code()))
            .collect::<Vec<_>>()
    };
    let sign_ups = codes(
        join_all((0..64).map(|n| {
            let mut users = users.clone();
            async move { users.create(person(n, "Testing123")).await.map(|_| ()) }
        }))
        .await,
    );
    let wrong = codes(
        join_all((0..64).map(|n| {
            let mut users = users.clone();
            async move {
                users
                    .auth(person(n % 8, "wrong-password"))
                    .await
                    .map(|_| ())
            }
        }))
        .await,
    );
    let peak = peak_rss_mib(system.pid(names::USER).unwrap());
    eprintln!(
        "user-service peak RSS {peak} MiB; sign-ups {:?}; wrong log-ins {:?}",
        tally(&sign_ups),
        tally(&wrong)
    );
    for code in &sign_ups {
        assert!(
            matches!(code, Code::Ok | Code::ResourceExhausted | Code::Unavailable),
            "{code:?} for a sign-up"
        );
    }
    for code in &wrong {
        assert!(
            matches!(
                code,
                Code::Unauthenticated | Code::ResourceExhausted | Code::Unavailable
            ),
            "{code:?} for a wrong log-in"
        );
    }
    assert!(sign_ups.contains(&Code::Ok), "some sign-ups got through");
    assert!(
        peak < 128,
        "user-service held {peak} MiB at its peak: the hashing is not bounded"
    );
    system.stop_all().await;
}

fn tally(codes: &[Code]) -> Vec<(String, usize)> {
    let mut seen: Vec<(String, usize)> = vec![];
    for code in codes {
        let name = format!("{code:?}");
        match seen.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += 1,
            None => seen.push((name, 1)),
        }
    }
    seen
}

fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

#[tokio::test]
async fn a_fresh_account_reads_nobody_elses_details_by_any_route_or_rpc() {
    let mut system = System::start().await;
    let alice = system.rest_user("alice@example.com").await;
    let bob = system.rest_user("bob@example.com").await;
    let (_, me) = system
        .rest("GET", "/api/v1/users/me", Some(&bob), None)
        .await;
    assert_eq!(me["user"]["email"], "bob@example.com", "{me}");
    let (_, hers) = system
        .rest("GET", "/api/v1/users/me", Some(&alice), None)
        .await;
    let alice_id = hers["user"]["id"].as_str().unwrap().to_owned();

    // REST: no list of users any more, and no route to another's details.
    let mut answers: Vec<Value> = vec![];
    for path in ["/api/v1/users", &format!("/api/v1/users/{alice_id}")] {
        let (status, body) = system.rest("GET", path, Some(&bob), None).await;
        assert!(matches!(status, 404 | 405), "GET {path}: {status} {body}");
        answers.push(body);
    }
    // gRPC: Get by her id or email, and GetAll, are refused, saying why.
    let mut users = UserServiceClient::connect(system.grpc_url(names::USER).await)
        .await
        .unwrap();
    for lookup in [
        User {
            id: alice_id.clone(),
            ..User::default()
        },
        User {
            email: "alice@example.com".into(),
            ..User::default()
        },
    ] {
        let refused = users.get(authed(lookup, &bob)).await.unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        answers.push(json!(refused.message()));
    }
    let refused = users
        .get_all(authed(ListAll::default(), &bob))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    answers.push(json!(refused.message()));
    for answer in &answers {
        assert!(
            !answer.to_string().contains("alice@"),
            "an answer to bob names alice: {answer}"
        );
    }
    system.stop_all().await;
}

async fn log_in_from(http: &reqwest::Client, url: &str, email: &str, password: &str) -> u16 {
    http.post(format!("{url}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_stranger_spraying_from_the_office_address_does_not_lock_out_who_logs_in_there() {
    let mut system = System::start().await;
    let url = system.api_url().await;
    for email in ["honest@example.com", "newcomer@example.com"] {
        system.rest_user(email).await;
    }
    let office = http_from("127.0.0.42");
    let password = "Testing123";
    assert_eq!(
        log_in_from(&office, &url, "honest@example.com", password).await,
        200
    );
    // A stranger behind the same address sprays 20 accounts with a wrong password.
    for n in 0..20 {
        let status = log_in_from(
            &office,
            &url,
            &format!("victim{n}@example.com"),
            "Guess1234",
        )
        .await;
        assert_eq!(status, 401);
    }
    assert_eq!(
        log_in_from(&office, &url, "victim99@example.com", "Guess1234").await,
        429,
        "the spraying address is held back"
    );
    assert_eq!(
        log_in_from(&office, &url, "honest@example.com", password).await,
        200,
        "a user who logged in from this address before is not locked out by a stranger"
    );
    // Guessing at the honest user's account from elsewhere locks it there, not at the office.
    let elsewhere = http_from("127.0.0.43");
    for _ in 0..5 {
        assert_eq!(
            log_in_from(&elsewhere, &url, "honest@example.com", "Guess1234").await,
            401
        );
    }
    assert_eq!(
        log_in_from(&elsewhere, &url, "honest@example.com", password).await,
        429
    );
    assert_eq!(
        log_in_from(&office, &url, "honest@example.com", password).await,
        200
    );
    system.stop_all().await;
}

/// Sixty shippers behind one address (an office's NAT, a load tool), each signed in as
/// themselves and under ten requests a second, at the shipped limits: nobody is refused.
/// Together they are three times the address's budget, so before each user had a budget of
/// their own, about a third of their requests were 429.
#[tokio::test]
async fn sixty_signed_in_users_behind_one_address_are_each_held_to_their_own_budget() {
    let mut system = System::start().await;
    let url = system.api_url().await;
    let office = http_from("127.0.0.60");
    let mut tokens = vec![];
    for n in 0..60 {
        let email = format!("shipper{n}@example.com");
        let user = json!({"name": "Shipper", "email": email, "password": "Testing123"});
        let signed_up = office
            .post(format!("{url}/api/v1/users"))
            .json(&user)
            .send()
            .await
            .unwrap();
        assert_eq!(signed_up.status(), 201);
        let session: Value = office
            .post(format!("{url}/api/v1/auth/login"))
            .json(&json!({"email": email, "password": "Testing123"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(session["token"].as_str().unwrap().to_owned());
    }
    let shippers = tokens.iter().map(|token| {
        let (office, url) = (office.clone(), url.clone());
        async move {
            let mut statuses = vec![];
            let mut every = tokio::time::interval(std::time::Duration::from_millis(100));
            for _ in 0..20 {
                every.tick().await;
                let answer = office
                    .get(format!("{url}/api/v1/vessels"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                statuses.push(answer.status().as_u16());
            }
            statuses
        }
    });
    let statuses: Vec<u16> = join_all(shippers).await.into_iter().flatten().collect();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    eprintln!(
        "{} requests from 60 users behind one address in 2 s: {refused} refused",
        statuses.len()
    );
    assert_eq!(statuses.len(), 1200);
    assert!(
        statuses.iter().all(|s| *s == 200),
        "{refused} of 1200 refused 429, others: {:?}",
        statuses
            .iter()
            .filter(|s| **s != 200 && **s != 429)
            .collect::<Vec<_>>()
    );
    system.stop_all().await;
}
