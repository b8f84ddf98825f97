//! Log-in throttling and rate limits from the attacker's side, with the shipped limits (5
//! failures per account, 20 per address, in 5 minutes): guessing locks the account, even
//! 30 guesses at once; spraying many accounts locks the address, which a direct caller
//! cannot choose, not even from the gateway's own address (only the gateway's signed proof
//! lets a call name its client), and clients behind the gateway do not share; a flood of
//! bad tokens is limited before any is checked; all say how long to wait, over REST and
//! gRPC. Other clients' connections come from other 127.x addresses.

use serde_json::json;
use shippy_common::names;
use shippy_proto::user::User;
use shippy_proto::user::user_service_client::UserServiceClient;
use shippy_system_tests::{System, http_from};
use tonic::Code;

async fn log_in(system: &System, email: &str, password: &str) -> (u16, serde_json::Value) {
    system
        .rest(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": password})),
        )
        .await
}

#[tokio::test]
async fn guessing_passwords_locks_the_account_then_the_address_and_says_how_long() {
    let mut system = System::start().await;
    let victim = "victim@example.com";
    system.rest_user(victim).await;

    for guess in 0..5 {
        let (status, body) = log_in(&system, victim, &format!("guess-{guess}-wrong")).await;
        assert_eq!(status, 401, "guess {guess}: {body}");
    }
    let url = format!("{}/api/v1/auth/login", system.api_url().await);
    let locked = reqwest::Client::new()
        .post(&url)
        .json(&json!({"email": victim, "password": "Testing123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        locked.status().as_u16(),
        429,
        "even the right password waits out the lock"
    );
    let wait: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&wait), "Retry-After {wait}");
    let body: serde_json::Value = locked.json().await.unwrap();
    assert_eq!(body["error"]["code"], "resource_exhausted");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many failed log-ins")
    );

    // Spraying other accounts from the same address: 15 more failures reach the 20 limit.
    for i in 0..15 {
        let (status, _) = log_in(&system, &format!("nobody{i}@example.com"), "whatever-123").await;
        assert_eq!(status, 401, "spray {i}");
    }
    system
        .rest(
            "POST",
            "/api/v1/users",
            None,
            Some(json!({"name": "Legit", "email": "legit@example.com", "password": "Testing123"})),
        )
        .await;
    let (status, _) = log_in(&system, "legit@example.com", "Testing123").await;
    assert_eq!(status, 429, "the address is locked for every account");

    let mut grpc = UserServiceClient::connect(system.grpc_url(names::USER).await)
        .await
        .unwrap();
    let attempt = User {
        email: "legit@example.com".into(),
        password: "Testing123".into(),
        ..Default::default()
    };
    let refused = grpc.auth(attempt).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.metadata().get("retry-after").is_some());
    system.stop_all().await;
}

/// Lists vessels over gRPC straight at vessel-service as the holder of `token`.
async fn grpc_list(system: &System, token: &str) -> Result<(), tonic::Status> {
    use shippy_proto::vessel::ListRequest;
    use shippy_proto::vessel::vessel_service_client::VesselServiceClient;
    let mut client = VesselServiceClient::connect(system.grpc_url(names::VESSEL).await)
        .await
        .unwrap();
    let mut request = tonic::Request::new(ListRequest::default());
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    client.list(request).await.map(|_| ())
}

#[tokio::test]
async fn a_client_over_its_rate_is_told_to_wait_and_other_clients_are_not() {
    let mut system = System::start_with(&[
        ("SHIPPY_LIMITS__REQUESTS_PER_SEC", "2"),
        ("SHIPPY_LIMITS__BURST", "5"),
    ])
    .await;
    let alice = system.rest_user("alice-rate@example.com").await;
    let bob = system.rest_user("bob-rate@example.com").await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;

    // gRPC: per user, whoever calls.
    let mut refused = None;
    for _ in 0..10 {
        if let Err(status) = grpc_list(&system, &alice).await {
            refused = Some(status);
            break;
        }
    }
    let refused = refused.expect("alice is limited within ten quick calls");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(refused.metadata().get("retry-after").unwrap(), "1");
    assert!(
        refused.message().contains("2 requests a second"),
        "{refused:?}"
    );
    grpc_list(&system, &bob)
        .await
        .expect("bob has his own budget");

    // REST: per address, with Retry-After and the JSON error body.
    let url = format!("{}/api/v1/vessels", system.api_url().await);
    let http = reqwest::Client::new();
    let mut limited = None;
    for _ in 0..10 {
        let response = http.get(&url).bearer_auth(&bob).send().await.unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("the gateway limits within ten quick calls");
    assert_eq!(limited.headers()["retry-after"], "1");
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "resource_exhausted", "{body}");

    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    grpc_list(&system, &alice)
        .await
        .expect("alice may call again after waiting");
    system.stop_all().await;
}

/// A gRPC client of the user service whose connection comes from `ip`.
async fn users_from(system: &System, ip: &str) -> UserServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(system.grpc_url(names::USER).await)
        .unwrap()
        .local_address(Some(ip.parse().unwrap()))
        .connect()
        .await
        .unwrap();
    UserServiceClient::new(channel)
}

/// A gRPC request that claims, in `x-forwarded-for`, to be for `claimed`.
fn claiming<T>(message: T, claimed: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-forwarded-for", claimed.parse().unwrap());
    request
}

#[tokio::test]
async fn thirty_parallel_guesses_get_only_the_allowed_password_checks() {
    let mut system = System::start().await;
    let victim = "parallel-victim@example.com";
    system.rest_user(victim).await;
    let guesses = (0..30).map(|i| {
        let system = &system;
        async move { log_in(system, victim, &format!("parallel-guess-{i}")).await }
    });
    let answers = shippy_system_tests::join_all(guesses).await;
    let checked = answers.iter().filter(|(status, _)| *status == 401).count();
    let refused = answers.iter().filter(|(status, _)| *status == 429).count();
    assert_eq!(
        (checked, refused),
        (5, 25),
        "the 5 failures the account may have, then refusals: {answers:?}"
    );
    system.stop_all().await;
}

#[tokio::test]
async fn a_direct_caller_cannot_choose_the_address_it_is_throttled_under() {
    let mut system = System::start().await;
    system.rest_user("bystander@example.com").await;
    // The attacker calls from the gateway's own address, which proves nothing: only the
    // gateway's signed proof lets a call name its client.
    let mut attacker = users_from(&system, "127.0.0.1").await;
    // 20 failures (the per-address limit), each claiming another address, half of them
    // the bystander's.
    for i in 0..20 {
        let claimed = if i % 2 == 0 {
            format!("10.0.{i}.1")
        } else {
            "127.0.0.3".to_owned()
        };
        let guess = User {
            email: format!("sprayed{i}@example.com"),
            password: "whatever-123".into(),
            ..Default::default()
        };
        let status = attacker.auth(claiming(guess, &claimed)).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::Unauthenticated,
            "guess {i}: {status:?}"
        );
    }
    let next = User {
        email: "sprayed-more@example.com".into(),
        password: "whatever-123".into(),
        ..Default::default()
    };
    let locked = attacker
        .auth(claiming(next, "10.99.0.1"))
        .await
        .unwrap_err();
    assert_eq!(
        locked.code(),
        Code::ResourceExhausted,
        "a new claimed address does not dodge the lock: {locked:?}"
    );

    // The bystander, at the address the attacker forged, is not locked out.
    let url = format!("{}/api/v1/auth/login", system.api_url().await);
    let response = http_from("127.0.0.3")
        .post(&url)
        .json(&json!({"email": "bystander@example.com", "password": "Testing123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    system.stop_all().await;
}

#[tokio::test]
async fn clients_behind_the_gateway_each_have_their_own_budget_and_bad_tokens_are_limited_first() {
    let mut system = System::start_with(&[
        ("SHIPPY_LIMITS__REQUESTS_PER_SEC", "2"),
        ("SHIPPY_LIMITS__BURST", "5"),
    ])
    .await;
    let url = format!("{}/api/v1/users", system.api_url().await);
    // Eight people sign up three accounts each through the gateway, all at once: 24
    // sign-ups reach the user service from the gateway's one address, but each counts
    // against its own client's budget of 5.
    let people = (10..18).map(|n| {
        let url = url.clone();
        async move {
            let http = http_from(&format!("127.0.0.{n}"));
            let mut statuses = vec![];
            for k in 0..3 {
                let body = json!({
                    "name": "Person",
                    "email": format!("person{n}-{k}@example.com"),
                    "password": "Testing123",
                });
                let response = http.post(&url).json(&body).send().await.unwrap();
                statuses.push(response.status().as_u16());
            }
            statuses
        }
    });
    let statuses = shippy_system_tests::join_all(people).await;
    assert!(
        statuses.iter().flatten().all(|s| *s == 201),
        "everyone signed up: {statuses:?}"
    );

    // A direct caller sending bad tokens is refused by its address's budget before any
    // token is checked, whatever it claims to forward for.
    use shippy_proto::vessel::ListRequest;
    use shippy_proto::vessel::vessel_service_client::VesselServiceClient;
    let channel = tonic::transport::Endpoint::from_shared(system.grpc_url(names::VESSEL).await)
        .unwrap()
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .connect()
        .await
        .unwrap();
    let mut vessels = VesselServiceClient::new(channel);
    let mut codes = vec![];
    for i in 0..10 {
        let mut request = claiming(ListRequest::default(), &format!("10.1.{i}.1"));
        request
            .metadata_mut()
            .insert("authorization", "Bearer not.a.token".parse().unwrap());
        codes.push(vessels.list(request).await.unwrap_err().code());
    }
    assert_eq!(codes[0], Code::Unauthenticated, "{codes:?}");
    assert_eq!(
        codes.last(),
        Some(&Code::ResourceExhausted),
        "the flood is limited: {codes:?}"
    );
    system.stop_all().await;
}
