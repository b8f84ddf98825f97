//! The user service's gRPC handler called in-process, over the in-memory user store: what
//! someone signing up, logging in, looking up and logging out notices.

use std::sync::Arc;
use std::time::Duration;

use shippy_common::auth::{Caller, TokenIssuer, TokenVerifier, generate_key_pair, testing};
use shippy_common::events::{self, Events};
use shippy_common::fields::from_status;
use shippy_plugins::outbox::contract::waiting;
use shippy_proto::tonic::{Code, Request};
use shippy_proto::user::user_service_server::UserService;
use shippy_proto::user::{Request as ListAll, Token, User};
use shippy_user::UserHandler;
use shippy_user::password::Hasher;
use shippy_user::repo::{MemoryUsers, UserRepository};
use shippy_user::throttle::LoginThrottle;

struct Users {
    handler: UserHandler,
    repo: Arc<MemoryUsers>,
    verifier: Arc<TokenVerifier>,
}

fn users() -> Users {
    let config = testing::auth_config(3);
    let keys = generate_key_pair().unwrap();
    let issuer = TokenIssuer::from_pem(keys.private_pem.as_bytes(), &config).unwrap();
    let verifier = Arc::new(TokenVerifier::from_pem(keys.public_pem.as_bytes(), &config).unwrap());
    let repo = Arc::new(MemoryUsers::default());
    let events = Events::new("shippy.log", "shippy.user");
    let throttle = LoginThrottle::new(3, 20, Duration::from_secs(300), Duration::from_secs(86_400));
    Users {
        handler: UserHandler::new(
            repo.clone(),
            issuer,
            Arc::clone(&verifier),
            events,
            throttle,
            Hasher::new(0, Duration::from_secs(5)),
            "shippy.revocations",
        ),
        repo,
        verifier,
    }
}

fn ewan(email: &str, password: &str) -> User {
    User {
        id: String::new(),
        name: "Ewan Valentine".into(),
        company: "Shippy".into(),
        email: email.into(),
        password: password.into(),
    }
}

async fn sign_up(u: &Users, email: &str) -> User {
    let response = u
        .handler
        .create(Request::new(ewan(email, "Testing123")))
        .await
        .unwrap();
    response.into_inner().user.unwrap()
}

async fn log_in(
    u: &Users,
    email: &str,
    password: &str,
) -> Result<Token, shippy_proto::tonic::Status> {
    let answer = u.handler.auth(Request::new(ewan(email, password))).await?;
    Ok(answer.into_inner())
}

/// The methods the event payloads in the outbox name, oldest first.
async fn recorded(u: &Users) -> Vec<String> {
    waiting(u.repo.outbox().as_ref())
        .await
        .iter()
        .map(|o| events::from_message(&o.message).unwrap().method)
        .collect()
}

#[tokio::test]
async fn a_sign_up_answers_the_user_without_its_password_and_records_one_event() {
    let u = users();
    let user = sign_up(&u, " Ewan@Example.com ").await;
    assert!(!user.id.is_empty());
    assert_eq!(user.email, "ewan@example.com", "stored lowercased");
    assert!(user.password.is_empty(), "never answered");
    let stored = u.repo.get(&user.id).await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2"), "stored hashed");
    assert_eq!(recorded(&u).await, ["Create"]);
}

#[tokio::test]
async fn a_duplicate_email_is_refused_with_the_email_named() {
    let u = users();
    sign_up(&u, "ewan@example.com").await;
    let again = u
        .handler
        .create(Request::new(ewan("EWAN@example.com", "Different123")))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);
    assert_eq!(
        again.message(),
        "a user with email ewan@example.com already exists"
    );
    assert_eq!(
        recorded(&u).await,
        ["Create"],
        "the refused one left no event"
    );
}

#[tokio::test]
async fn an_empty_sign_up_names_every_field_it_needs() {
    let u = users();
    let refused = u
        .handler
        .create(Request::new(ewan("", "")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(from_status(&refused).names(), ["email", "password"]);
    assert!(
        shippy_user::repo::contract::all(u.repo.as_ref())
            .await
            .is_empty(),
        "nothing stored"
    );
}

#[tokio::test]
async fn logging_in_answers_a_token_that_names_the_user_and_a_wrong_password_answers_nothing() {
    let u = users();
    let user = sign_up(&u, "ewan@example.com").await;
    let token = log_in(&u, "Ewan@Example.com", "Testing123").await.unwrap();
    assert!(token.valid);
    assert_eq!(token.user_id, user.id);
    assert_eq!(u.verifier.verify(&token.token).unwrap().sub, user.id);
    for (email, password) in [
        ("ewan@example.com", "wrong-password"),
        ("nobody@example.com", "Testing123"),
    ] {
        let refused = log_in(&u, email, password).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated);
        assert_eq!(
            refused.message(),
            "invalid email or password",
            "no hint which was wrong"
        );
    }
}

#[tokio::test]
async fn too_many_wrong_passwords_are_throttled_with_a_time_to_wait() {
    let u = users();
    sign_up(&u, "ewan@example.com").await;
    for _ in 0..3 {
        let wrong = log_in(&u, "ewan@example.com", "wrong-password").await;
        assert_eq!(wrong.unwrap_err().code(), Code::Unauthenticated);
    }
    let throttled = log_in(&u, "ewan@example.com", "Testing123")
        .await
        .unwrap_err();
    assert_eq!(throttled.code(), Code::ResourceExhausted);
    let wait: u64 = throttled
        .metadata()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1, "{wait}");
}

/// `message` as the holder of `token` sends it, past the guard.
fn as_holder<T>(u: &Users, token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.extensions_mut().insert(Caller {
        claims: u.verifier.verify(token).unwrap(),
        token: token.into(),
    });
    request
}

#[tokio::test]
async fn a_user_sees_themselves_by_id_email_or_neither_and_never_another_user() {
    let u = users();
    let ewan = sign_up(&u, "ewan@example.com").await;
    let other = sign_up(&u, "other@example.com").await;
    let token = log_in(&u, "ewan@example.com", "Testing123")
        .await
        .unwrap()
        .token;
    let mine = [
        User {
            id: ewan.id.clone(),
            ..User::default()
        },
        User {
            email: " EWAN@example.com".into(),
            ..User::default()
        },
        User::default(),
    ];
    for lookup in mine {
        let found = u.handler.get(as_holder(&u, &token, lookup)).await.unwrap();
        assert_eq!(found.into_inner().user.unwrap(), ewan);
    }
    // Another's id or email, or one nobody has: refused alike, so nothing tells who exists.
    let theirs = [
        User {
            id: other.id.clone(),
            ..User::default()
        },
        User {
            email: "other@example.com".into(),
            ..User::default()
        },
        User {
            id: "nobody".into(),
            ..User::default()
        },
    ];
    for lookup in theirs {
        let refused = u
            .handler
            .get(as_holder(&u, &token, lookup))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied);
        assert_eq!(
            refused.message(),
            "other users' details are private: ask for your own (GET /api/v1/users/me)"
        );
    }
    let listing = u
        .handler
        .get_all(as_holder(&u, &token, ListAll::default()))
        .await
        .unwrap_err();
    assert_eq!(listing.code(), Code::PermissionDenied);

    // shippy's own services may look anyone up, and list them.
    let found = u
        .handler
        .get(testing::from_service(
            "shippy.consignment",
            User {
                id: other.id.clone(),
                ..User::default()
            },
        ))
        .await
        .unwrap();
    assert_eq!(found.into_inner().user.unwrap(), other);
    let all = u
        .handler
        .get_all(testing::from_service(
            "shippy.consignment",
            ListAll::default(),
        ))
        .await
        .unwrap();
    assert_eq!(all.into_inner().users.len(), 2);
}

#[tokio::test]
async fn an_overlong_email_or_password_is_refused_before_any_work() {
    let u = users();
    let long_email = format!("{}@example.com", "e".repeat(250));
    let long_password = "p".repeat(1025);
    let refused = u
        .handler
        .create(Request::new(ewan(&long_email, &long_password)))
        .await
        .unwrap_err();
    assert_eq!(from_status(&refused).names(), ["email", "password"]);
    sign_up(&u, "ewan@example.com").await;
    for _ in 0..5 {
        let refused = log_in(&u, "ewan@example.com", &long_password)
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
        assert_eq!(from_status(&refused).names(), ["password"]);
    }
    let token = log_in(&u, "ewan@example.com", "Testing123").await;
    assert!(
        token.is_ok(),
        "refused attempts counted for nothing: {token:?}"
    );
    let passphrase = "correct horse battery staple ".repeat(35);
    assert!(passphrase.chars().count() <= 1024);
    let accepted = u
        .handler
        .create(Request::new(ewan("long@example.com", &passphrase)))
        .await;
    assert!(accepted.is_ok(), "{accepted:?}");
}

#[tokio::test]
async fn logging_out_revokes_the_token_here_at_once_and_tells_every_service() {
    let u = users();
    sign_up(&u, "ewan@example.com").await;
    let token = log_in(&u, "ewan@example.com", "Testing123")
        .await
        .unwrap()
        .token;
    let claims = u.verifier.verify(&token).unwrap();
    let mut request = Request::new(Token::default());
    request.extensions_mut().insert(Caller {
        claims: Arc::clone(&claims),
        token: token.as_str().into(),
    });
    let answer = u.handler.logout(request).await.unwrap().into_inner();
    assert!(!answer.valid && answer.token.is_empty(), "{answer:?}");
    let check = Token {
        token,
        ..Token::default()
    };
    let refused = u
        .handler
        .validate_token(Request::new(check))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    // The log-out's log event, then its revocation on the topic every service follows.
    let pending = waiting(u.repo.outbox().as_ref()).await;
    let [.., logout, revocation] = pending.as_slice() else {
        panic!("no log-out and revocation in {pending:?}");
    };
    assert_eq!(logout.topic, "shippy.log");
    assert_eq!(
        events::from_message(&logout.message).unwrap().method,
        "Logout"
    );
    assert_eq!(revocation.topic, "shippy.revocations");
    for event in [logout, revocation] {
        assert_eq!(event.message.headers["revokes"], claims.jti, "{event:?}");
    }
}
