//! Token issue and verification, including every way a token can be wrong.

use super::*;

fn config() -> AuthConfig {
    testing::auth_config(5)
}

fn pair(config: &AuthConfig) -> (TokenIssuer, TokenVerifier) {
    let keys = generate_key_pair().unwrap();
    (
        TokenIssuer::from_pem(keys.private_pem.as_bytes(), config).unwrap(),
        TokenVerifier::from_pem(keys.public_pem.as_bytes(), config).unwrap(),
    )
}

const ALICE: Subject<'static> = Subject {
    user_id: "u-1",
    email: "alice@example.com",
    name: "Alice",
};

#[test]
fn an_issued_token_verifies_and_names_the_user_until_it_expires() {
    let (issuer, verifier) = pair(&config());
    let (token, exp) = issuer.issue(&ALICE).unwrap();
    let claims = verifier.verify(&token).unwrap();
    assert_eq!(claims.sub, "u-1");
    assert_eq!(claims.email, "alice@example.com");
    assert_eq!(claims.exp, exp);
    assert!(exp > now_secs() + 3500, "token must not be born expired");
}

#[test]
fn a_token_signed_by_another_key_is_refused_as_bad_signature() {
    let (issuer, _) = pair(&config());
    let (_, other_verifier) = pair(&config());
    let (token, _) = issuer.issue(&ALICE).unwrap();
    assert_eq!(other_verifier.verify(&token), Err(AuthError::BadSignature));
}

#[test]
fn expired_garbage_wrong_issuer_and_audience_are_each_named() {
    let cfg = config();
    let keys = generate_key_pair().unwrap();
    let verifier = TokenVerifier::from_pem(keys.public_pem.as_bytes(), &cfg).unwrap();
    let sign = |claims: &Claims| {
        super::ed25519::install();
        let key = EncodingKey::from_ed_pem(keys.private_pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), claims, &key).unwrap()
    };
    let now = now_secs();
    let good = Claims {
        sub: "u".into(),
        email: "e".into(),
        name: "n".into(),
        iss: cfg.issuer.clone(),
        aud: cfg.audience.clone(),
        iat: now,
        nbf: now,
        exp: now + 600,
        jti: String::new(),
        methods: Vec::new(),
    };
    let expired = Claims {
        iat: now - 7200,
        nbf: now - 7200,
        exp: now - 3600,
        ..good.clone()
    };
    let future = Claims {
        nbf: now + 3600,
        ..good.clone()
    };
    let wrong_iss = Claims {
        iss: "evil".into(),
        ..good.clone()
    };
    let wrong_aud = Claims {
        aud: "other".into(),
        ..good.clone()
    };
    assert!(verifier.verify(&sign(&good)).is_ok());
    assert_eq!(verifier.verify(&sign(&expired)), Err(AuthError::Expired));
    assert_eq!(verifier.verify(&sign(&future)), Err(AuthError::NotYetValid));
    assert_eq!(
        verifier.verify(&sign(&wrong_iss)),
        Err(AuthError::WrongIssuer)
    );
    assert_eq!(
        verifier.verify(&sign(&wrong_aud)),
        Err(AuthError::WrongAudience)
    );
    assert_eq!(verifier.verify("not.a.token"), Err(AuthError::Malformed));
    assert_eq!(verifier.verify(""), Err(AuthError::Missing));
}

#[test]
fn the_token_is_read_from_bearer_or_the_reference_token_key() {
    let mut headers = http::HeaderMap::new();
    assert_eq!(bearer_from_metadata(&headers), Err(AuthError::Missing));
    headers.insert("token", "abc".parse().unwrap());
    assert_eq!(bearer_from_metadata(&headers), Ok("abc"));
    headers.insert("authorization", "Bearer xyz".parse().unwrap());
    assert_eq!(bearer_from_metadata(&headers), Ok("xyz"));
    headers.insert("authorization", "Basic xyz".parse().unwrap());
    assert_eq!(bearer_from_metadata(&headers), Err(AuthError::Malformed));
    let not_utf8 = http::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap();
    headers.insert("authorization", not_utf8);
    assert_eq!(bearer_from_metadata(&headers), Err(AuthError::Malformed));
}

#[test]
fn a_token_that_is_not_ascii_is_refused_as_malformed() {
    let (issuer, verifier) = pair(&config());
    let (token, _) = issuer.issue(&ALICE).unwrap();
    let (head, rest) = token.split_at(3);
    let spoiled = format!("{head}é{rest}");
    assert_eq!(verifier.verify(&spoiled), Err(AuthError::Malformed));
}

#[test]
fn a_remembered_token_is_still_refused_once_its_time_is_up() {
    let cfg = config();
    let keys = generate_key_pair().unwrap();
    let verifier = TokenVerifier::from_pem(keys.public_pem.as_bytes(), &cfg).unwrap();
    let now = now_secs();
    // Expired three seconds ago: still inside the 5 s leeway for about two more seconds.
    let claims = Claims {
        sub: "u-1".into(),
        email: "alice@example.com".into(),
        name: "Alice".into(),
        iss: cfg.issuer.clone(),
        aud: cfg.audience.clone(),
        iat: now - 60,
        nbf: now - 60,
        exp: now - 3,
        jti: String::new(),
        methods: Vec::new(),
    };
    super::ed25519::install();
    let key = EncodingKey::from_ed_pem(keys.private_pem.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &key).unwrap();
    assert_eq!(verifier.verify(&token).unwrap().sub, "u-1");
    assert_eq!(verifier.verify(&token).unwrap().sub, "u-1", "from memory");
    let at = token.rfind('.').unwrap() + 1;
    let swap = if token[at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{swap}{}", &token[..at], &token[at + 1..]);
    assert!(
        verifier.verify(&tampered).is_err(),
        "other bytes are checked afresh"
    );
    std::thread::sleep(std::time::Duration::from_millis(3100));
    assert_eq!(verifier.verify(&token), Err(AuthError::Expired));
}

#[test]
fn a_service_token_verifies_as_a_service_and_no_user_token_can_pass_for_one() {
    let cfg = config();
    let users = generate_key_pair().unwrap();
    let services = generate_key_pair().unwrap();
    let verifier = TokenVerifier::from_pem(users.public_pem.as_bytes(), &cfg)
        .unwrap()
        .with_service_key(services.public_pem.as_bytes(), &cfg)
        .unwrap();
    let minted = ServiceTokens::from_pem(
        services.private_pem.as_bytes(),
        "shippy.consignment",
        &[],
        &cfg,
    )
    .unwrap();
    let token = minted.token().unwrap();
    assert_eq!(
        minted.token().unwrap(),
        token,
        "the current token is reused"
    );
    let claims = verifier.verify(&token).unwrap();
    assert_eq!(claims.iss, SERVICE_ISSUER);
    assert_eq!(claims.sub, "service:shippy.consignment");

    // A user's token is never a service's, and the user key cannot sign one.
    let issuer = TokenIssuer::from_pem(users.private_pem.as_bytes(), &cfg).unwrap();
    let (user_token, _) = issuer.issue(&ALICE).unwrap();
    assert_ne!(verifier.verify(&user_token).unwrap().iss, SERVICE_ISSUER);
    let forged = ServiceTokens::from_pem(
        users.private_pem.as_bytes(),
        "shippy.consignment",
        &[],
        &cfg,
    )
    .unwrap()
    .token()
    .unwrap();
    assert_eq!(
        verifier.verify(&forged),
        Err(AuthError::WrongIssuer),
        "the user key cannot sign a service's token"
    );

    // Without the service key, a service token is refused.
    let users_only = TokenVerifier::from_pem(users.public_pem.as_bytes(), &cfg).unwrap();
    assert!(users_only.verify(&token).is_err());
}

#[test]
fn a_revoked_token_is_refused_even_from_memory_and_others_of_the_user_are_not() {
    let cfg = config();
    let keys = generate_key_pair().unwrap();
    let issuer = TokenIssuer::from_pem(keys.private_pem.as_bytes(), &cfg).unwrap();
    let verifier = TokenVerifier::from_pem(keys.public_pem.as_bytes(), &cfg).unwrap();
    let subject = Subject {
        user_id: "u-1",
        email: "alice@example.com",
        name: "Alice",
    };
    let (first, _) = issuer.issue(&subject).unwrap();
    let (second, _) = issuer.issue(&subject).unwrap();
    let claims = verifier.verify(&first).unwrap();
    assert!(!claims.jti.is_empty(), "every user token has its own id");
    verifier.revoke(&claims.jti, claims.exp);
    assert_eq!(verifier.verify(&first), Err(AuthError::Revoked));
    assert_eq!(
        verifier.clone().verify(&first),
        Err(AuthError::Revoked),
        "clones share the list"
    );
    assert!(
        verifier.verify(&second).is_ok(),
        "another session of the user"
    );
    // An entry for a token long expired is not kept.
    verifier.revoke("old", now_secs() - 3600);
    assert!(!verifier.revoked.lock().unwrap().contains_key("old"));
}

#[test]
fn a_caller_debug_prints_its_claims_but_never_its_token() {
    let caller = Caller {
        claims: std::sync::Arc::new(Claims {
            sub: "u-1".into(),
            email: "alice@example.com".into(),
            name: "Alice".into(),
            iss: "shippy.user".into(),
            aud: "shippy".into(),
            iat: 0,
            nbf: 0,
            exp: 1,
            jti: "j-1".into(),
            methods: Vec::new(),
        }),
        token: "eyJhbGciOiJFZERTQSJ9.secret-payload.secret-signature".into(),
    };
    let printed = format!("{caller:?}");
    assert!(printed.contains("u-1"), "{printed}");
    assert!(!printed.contains("secret"), "{printed}");
    assert!(printed.contains("<redacted>"), "{printed}");
}

#[test]
fn a_token_naming_rsa_hmac_or_ecdsa_is_refused_and_only_ed25519_is_built_in() {
    let cfg = config();
    let keys = generate_key_pair().unwrap();
    let verifier = TokenVerifier::from_pem(keys.public_pem.as_bytes(), &cfg).unwrap();
    // Headers {"alg":…,"typ":"JWT"} for RS256, PS512, HS256 and ES256, a payload and a
    // signature that would be checked if the algorithm were.
    for header in [
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9",
        "eyJhbGciOiJQUzUxMiIsInR5cCI6IkpXVCJ9",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
        "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9",
    ] {
        let token = format!("{header}.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJl");
        assert_eq!(
            verifier.verify(&token),
            Err(AuthError::WrongAlgorithm),
            "{header}"
        );
    }
    // The provider itself has no other algorithm to offer: asking it to sign with RS256 or
    // HS256 is an error, not a signature.
    let key = EncodingKey::from_ed_pem(keys.private_pem.as_bytes()).unwrap();
    for alg in [Algorithm::RS256, Algorithm::HS256, Algorithm::ES256] {
        let claims = serde_json::json!({"sub": "u-1"});
        assert!(jsonwebtoken::encode(&Header::new(alg), &claims, &key).is_err());
    }
    let hmac = EncodingKey::from_secret(keys.public_pem.as_bytes());
    let claims = serde_json::json!({"sub": "u-1"});
    assert!(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &hmac).is_err());
}

#[test]
fn a_service_token_opens_only_the_methods_it_names() {
    use crate::check::Check;
    let cfg = config();
    let (users, services) = (generate_key_pair().unwrap(), generate_key_pair().unwrap());
    let verifier = TokenVerifier::from_pem(users.public_pem.as_bytes(), &cfg)
        .unwrap()
        .with_service_key(services.public_pem.as_bytes(), &cfg)
        .unwrap();
    let token = ServiceTokens::from_pem(
        services.private_pem.as_bytes(),
        "shippy.consignment",
        &["/shippy.vessel.VesselService/Reserve"],
        &cfg,
    )
    .unwrap()
    .token()
    .unwrap();
    let guard = TokenGuard::new(Arc::new(verifier), &[]);
    let call = |path: &str| {
        let mut request = http::Request::builder()
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .unwrap();
        guard.refusal(&mut request)
    };
    assert!(call("/shippy.vessel.VesselService/Reserve").is_none());
    for elsewhere in [
        "/shippy.vessel.VesselService/Create",
        "/shippy.user.UserService/GetAll",
        "/shippy.consignment.ShippingService/GetConsignments",
    ] {
        let refused = call(elsewhere).expect("refused");
        assert_eq!(
            refused.headers()["grpc-status"],
            "7",
            "{elsewhere}: PERMISSION_DENIED"
        );
    }
}

#[test]
fn after_a_rotation_tokens_of_the_previous_key_still_verify_and_new_ones_name_the_new_key() {
    let cfg = config();
    let (old, new, foreign) = (
        generate_key_pair().unwrap(),
        generate_key_pair().unwrap(),
        generate_key_pair().unwrap(),
    );
    let old_issuer = TokenIssuer::from_pem(old.private_pem.as_bytes(), &cfg).unwrap();
    let new_issuer = TokenIssuer::from_pem(new.private_pem.as_bytes(), &cfg).unwrap();
    assert_eq!(old_issuer.key_id(), key_id(&old.public_pem).unwrap());
    let (old_token, _) = old_issuer.issue(&ALICE).unwrap();
    let (new_token, _) = new_issuer.issue(&ALICE).unwrap();
    let header = jsonwebtoken::decode_header(&new_token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_issuer.key_id()));

    let rotated = TokenVerifier::from_pem(new.public_pem.as_bytes(), &cfg)
        .unwrap()
        .with_previous_key(old.public_pem.as_bytes(), Path::new("previous.pem"))
        .unwrap();
    assert!(rotated.verify(&new_token).is_ok());
    assert!(
        rotated.verify(&old_token).is_ok(),
        "the previous key's session goes on"
    );
    // A token from before key ids, signed with the previous key.
    let legacy_key = EncodingKey::from_ed_pem(old.private_pem.as_bytes()).unwrap();
    let claims = rotated.verify(&old_token).unwrap();
    let legacy =
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &*claims, &legacy_key).unwrap();
    assert!(rotated.verify(&legacy).is_ok());
    // Another key naming a known kid is still another key.
    let mut forged_header = Header::new(Algorithm::EdDSA);
    forged_header.kid = Some(new_issuer.key_id().to_owned());
    let forged_key = EncodingKey::from_ed_pem(foreign.private_pem.as_bytes()).unwrap();
    let forged = jsonwebtoken::encode(&forged_header, &*claims, &forged_key).unwrap();
    assert_eq!(rotated.verify(&forged), Err(AuthError::BadSignature));
    // Without the previous key, the old session ends.
    let new_only = TokenVerifier::from_pem(new.public_pem.as_bytes(), &cfg).unwrap();
    assert_eq!(new_only.verify(&old_token), Err(AuthError::BadSignature));

    let jwks = rotated.jwks();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(
        kids,
        [new_issuer.key_id(), old_issuer.key_id()],
        "current first"
    );
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");
    assert_eq!(
        jwks["keys"][0]["x"].as_str().unwrap().len(),
        43,
        "32 bytes, base64url"
    );
}

/// Which variant `error` is: a new variant fails to compile until it is numbered here, and
/// then [`every_refusal_is_answered_in_the_tables_words`] until it is in its list.
fn variant(error: &AuthError) -> u8 {
    match error {
        AuthError::Missing => 0,
        AuthError::Malformed => 1,
        AuthError::Expired => 2,
        AuthError::NotYetValid => 3,
        AuthError::BadSignature => 4,
        AuthError::WrongIssuer => 5,
        AuthError::WrongAudience => 6,
        AuthError::WrongAlgorithm => 7,
        AuthError::Revoked => 8,
        AuthError::NotThisServicesMethod { .. } => 9,
        AuthError::RevocationsBehind => 10,
        AuthError::Key { .. } => 11,
        AuthError::Signing(_) => 12,
        AuthError::KeyBeingFetched => 13,
    }
}

#[test]
fn every_refusal_is_answered_in_the_tables_words() {
    use crate::error::testing::assert_every_variant_answered_by_the_table;
    let errors = [
        (AuthError::Missing, ""),
        (AuthError::Malformed, ""),
        (AuthError::Expired, ""),
        (AuthError::NotYetValid, ""),
        (AuthError::BadSignature, ""),
        (AuthError::WrongIssuer, ""),
        (AuthError::WrongAudience, ""),
        (AuthError::WrongAlgorithm, ""),
        (AuthError::Revoked, ""),
        (
            AuthError::NotThisServicesMethod {
                service: "shippy.consignment".into(),
                method: "/shippy.user.UserService/GetAll".into(),
            },
            "",
        ),
        (AuthError::RevocationsBehind, ""),
        (
            AuthError::Key {
                path: "/app/.shippy/keys/token/jwt-ed25519.pem".into(),
                reason: "Os { code: 13, kind: PermissionDenied }".into(),
            },
            "jwt-ed25519",
        ),
        (AuthError::Signing("ring: key rejected".into()), "ring"),
        (AuthError::KeyBeingFetched, ""),
    ];
    assert_every_variant_answered_by_the_table(&errors, variant, 14);
}

#[tokio::test]
async fn a_verifier_learns_an_endorsed_key_when_a_token_names_it_and_never_a_forged_one() {
    use rotation::{Endorsement, PublishedKey};
    let cfg = config();
    let (old, new, stranger) = (
        generate_key_pair().unwrap(),
        generate_key_pair().unwrap(),
        generate_key_pair().unwrap(),
    );
    let verifier = Arc::new(TokenVerifier::from_pem(old.public_pem.as_bytes(), &cfg).unwrap());
    let new_token = TokenIssuer::from_pem(new.private_pem.as_bytes(), &cfg)
        .unwrap()
        .issue(&ALICE)
        .unwrap()
        .0;
    // Nothing follows the published keys yet: an unknown key is refused outright.
    assert_eq!(verifier.verify(&new_token), Err(AuthError::BadSignature));

    // What user-service publishes after the rotation, and what an impostor would.
    let published = vec![
        PublishedKey {
            public_pem: new.public_pem.clone(),
            endorsement: Some(Endorsement::sign(&old.private_pem, &new.public_pem).unwrap()),
        },
        PublishedKey {
            public_pem: old.public_pem.clone(),
            endorsement: None,
        },
    ];
    let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let answers = Arc::new(Mutex::new(vec![PublishedKey {
        public_pem: stranger.public_pem.clone(),
        endorsement: Some(Endorsement::sign(&stranger.private_pem, &stranger.public_pem).unwrap()),
    }]));
    let _following = rotation::follow(
        Arc::clone(&verifier),
        {
            let (fetches, answers) = (Arc::clone(&fetches), Arc::clone(&answers));
            move || {
                fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let answer = answers.lock().unwrap().clone();
                async move { Ok(answer) }
            }
        },
        Duration::from_secs(3600),
    );
    let stranger_token = TokenIssuer::from_pem(stranger.private_pem.as_bytes(), &cfg)
        .unwrap()
        .issue(&ALICE)
        .unwrap()
        .0;
    // The first token naming an unknown key starts a fetch and may be retried...
    assert_eq!(
        verifier.verify(&stranger_token),
        Err(AuthError::KeyBeingFetched)
    );
    wait_until(|| fetches.load(std::sync::atomic::Ordering::SeqCst) == 1).await;
    wait_until(|| {
        !verifier
            .fetching
            .in_flight
            .load(std::sync::atomic::Ordering::SeqCst)
    })
    .await;
    // ...but the impostor's self-endorsed key is not learned, and more unknown keys soon
    // after start no more fetches.
    assert_eq!(
        verifier.verify(&stranger_token),
        Err(AuthError::BadSignature)
    );
    assert_eq!(verifier.verify(&new_token), Err(AuthError::BadSignature));
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(verifier.jwks()["keys"].as_array().unwrap().len(), 1);

    // The real rotation, fetched on the next nudge: the new key's tokens verify.
    *answers.lock().unwrap() = published;
    verifier
        .fetching
        .last_nudge_ms
        .store(0, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(verifier.verify(&new_token), Err(AuthError::KeyBeingFetched));
    wait_until(|| verifier.verify(&new_token).is_ok()).await;
    let kids: Vec<String> = verifier.jwks()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kids,
        [
            key_id(&new.public_pem).unwrap(),
            key_id(&old.public_pem).unwrap()
        ]
    );
    assert!(
        verifier.published()[0].endorsement.is_some(),
        "a learned key keeps its endorsement, to be published on"
    );
}

async fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not done within 2 s");
}
