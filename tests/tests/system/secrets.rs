//! No password, password hash, token or signing key in any log line or exported span of a
//! whole tutorial run at debug level, nor in any response but the log-in answer that hands
//! the token out.

use serde_json::{Value, json};
use shippy_system_tests::{System, otlp, sample};

const PASSWORD: &str = "Correct-Horse-Battery-9";
const WRONG: &str = "Wrong-Horse-Battery-0";

#[tokio::test]
async fn a_full_run_logs_no_password_hash_or_token() {
    let verbose = "debug,h2=info,hyper=info,hyper_util=info,tower=info,tonic=info";
    let (collector, spans) = otlp::collector().await;
    let mut system = System::start_with(&[
        ("RUST_LOG", verbose),
        ("SHIPPY_TELEMETRY__OTLP_ENDPOINT", &collector),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ])
    .await;
    let mut responses = Vec::new();

    let user = json!({"name": "Sam Secret", "email": "sam@example.com", "password": PASSWORD});
    responses.push(
        system
            .rest("POST", "/api/v1/users", None, Some(user))
            .await
            .1,
    );
    let wrong = json!({"email": "sam@example.com", "password": WRONG});
    responses.push(
        system
            .rest("POST", "/api/v1/auth/login", None, Some(wrong))
            .await
            .1,
    );
    let (_, login) = system
        .rest(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": "sam@example.com", "password": PASSWORD})),
        )
        .await;
    let token = login["token"].as_str().unwrap().to_owned();
    let signature = token.rsplit('.').next().unwrap().to_owned();

    for file in ["vessel.json"] {
        let run = system
            .cli("vessel-cli", &["create", &sample(file)], Some(&token))
            .await;
        assert!(run.success, "{run:?}");
    }
    let consignment: Value =
        serde_json::from_str(&std::fs::read_to_string(sample("consignment.json")).unwrap())
            .unwrap();
    responses.push(
        system
            .rest(
                "POST",
                "/api/v1/consignments",
                Some(&token),
                Some(consignment),
            )
            .await
            .1,
    );
    for path in [
        "/api/v1/consignments",
        "/api/v1/users/me",
        "/api/v1/vessels",
        "/api/v1/logs",
    ] {
        responses.push(system.rest("GET", path, Some(&token), None).await.1);
    }
    responses.push(
        system
            .rest(
                "GET",
                "/api/v1/consignments",
                Some(&format!("{token}x")),
                None,
            )
            .await
            .1,
    );
    let me = system
        .cli("user-cli", &["me", "--json"], Some(&token))
        .await;
    assert!(me.success, "{me:?}");
    system.stop_all().await;

    let logs = system.logs();
    assert!(logs.contains("DEBUG"), "the run logged at debug level");
    // Every span the run exported (flushed as the services stopped), names and attributes.
    let spans = format!("{:?}", spans.lock().unwrap());
    assert!(
        spans.contains("CreateConsignment"),
        "the run exported its spans"
    );
    let private_key = std::fs::read_to_string(&system.config.auth.private_key).unwrap();
    let key_body = private_key
        .lines()
        .find(|l| !l.starts_with("-----"))
        .unwrap()
        .to_owned();
    let secrets = [
        PASSWORD,
        WRONG,
        "$argon2",
        token.as_str(),
        signature.as_str(),
        key_body.as_str(),
    ];
    for secret in secrets {
        assert!(
            !logs.contains(secret),
            "a log line holds a secret ({})",
            &secret[..8.min(secret.len())]
        );
        assert!(
            !spans.contains(secret),
            "a span holds a secret ({})",
            &secret[..8.min(secret.len())]
        );
        for response in &responses {
            assert!(
                !response.to_string().contains(secret),
                "a response holds a secret: {response}"
            );
        }
        assert!(!me.stdout.contains(secret) && !me.stderr.contains(secret));
    }
}

/// `shippy init` never replaces half a key pair behind the operator's back: a new pair would
/// end every session signed with the old key. It stops and says what to do.
#[tokio::test]
async fn init_with_half_a_key_pair_stops_and_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let envs = shippy_system_tests::environment(dir.path());
    let public = dir.path().join("keys/jwt.pub.pem");
    std::fs::remove_file(&public).unwrap();
    let private_before = std::fs::read(dir.path().join("keys/jwt.pem")).unwrap();
    let out = tokio::process::Command::new(shippy_system_tests::bin_dir().join("shippy"))
        .arg("init")
        .current_dir(dir.path())
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "init went on: {stderr}");
    assert!(
        stderr.contains("half there")
            && stderr.contains("Restore")
            && stderr.contains("jwt.pub.pem"),
        "{stderr}"
    );
    assert!(!public.exists(), "nothing was made up in its place");
    assert_eq!(
        std::fs::read(dir.path().join("keys/jwt.pem")).unwrap(),
        private_before,
        "the private key is untouched"
    );
}

/// `shippy keys rotate` rolls a new token key in without logging anyone out: after the
/// services restart, a session signed with the old key goes on, new tokens name the new key,
/// and the gateway publishes both as JWKS, the new one first.
#[tokio::test]
async fn rotating_the_token_key_keeps_every_session_and_new_tokens_name_the_new_key() {
    use base64::Engine;
    let mut system = System::start().await;
    let before = system.rest_user("rotate@example.com").await;
    let rotated = system
        .command("shippy")
        .args(["keys", "rotate"])
        .output()
        .await
        .unwrap();
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let new_kid = shippy_common::auth::key_id(
        &std::fs::read_to_string(&system.config.auth.public_key).unwrap(),
    )
    .unwrap();
    // Only user-service restarts: the gateway and the other services learn the new key from
    // it, endorsed by the old one, while they run.
    system.stop_service(shippy_common::names::USER).await;
    system.start_service(shippy_common::names::USER).await;
    let (status, body) = system
        .rest("GET", "/api/v1/consignments", Some(&before), None)
        .await;
    assert_eq!(
        status, 200,
        "the session from before the rotation goes on: {body}"
    );
    let login = json!({"email": "rotate@example.com", "password": "Testing123"});
    let (status, session) = system
        .rest("POST", "/api/v1/auth/login", None, Some(login))
        .await;
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], new_kid.as_str());
    // The services that have not restarted accept it: at once if they have fetched the new
    // key already, else after a retryable 503 while they fetch it; never a 401.
    let mut answers = Vec::new();
    for _ in 0..50 {
        let (status, body) = system
            .rest("GET", "/api/v1/consignments", Some(token), None)
            .await;
        answers.push(status);
        if status == 200 {
            break;
        }
        assert_eq!(
            status, 503,
            "only a retryable refusal while the key is fetched: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        answers.last(),
        Some(&200),
        "the new key's session is served: {answers:?}"
    );
    let mut kids = Vec::new();
    for _ in 0..50 {
        let (status, jwks) = system
            .rest("GET", "/.well-known/jwks.json", None, None)
            .await;
        assert_eq!(status, 200);
        kids = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        if kids.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(kids.len(), 2, "{kids:?}");
    assert_eq!(kids[0], new_kid, "the current key first");
    system.stop_all().await;
}

#[tokio::test]
async fn a_service_never_trusts_a_key_that_no_trusted_key_endorsed() {
    let system = System::start().await;
    let session = system.rest_user("impostor@example.com").await;
    // A token signed with a key of the attacker's own, naming it, for an account that exists.
    let stranger = shippy_common::auth::generate_key_pair().unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            session.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(shippy_common::auth::key_id(&stranger.public_pem).unwrap());
    shippy_common::auth::ed25519::install();
    let forged = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ed_pem(stranger.private_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    // Asking makes each service fetch user-service's keys: none of them is the stranger's,
    // so the token is refused, retryably at first at most, then for good.
    let mut answers = Vec::new();
    for _ in 0..10 {
        let (status, _) = system
            .rest("GET", "/api/v1/consignments", Some(&forged), None)
            .await;
        answers.push(status);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        answers.iter().all(|s| *s == 401 || *s == 503) && answers.last() == Some(&401),
        "{answers:?}"
    );
}
