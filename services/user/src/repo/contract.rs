//! The user repository contract, run against every adapter with `user_repo_contract!`.

use std::sync::Arc;

use shippy_plugins::outbox::Outgoing;
use shippy_plugins::outbox::contract::{outgoing, waiting};

use shippy_common::paging::PageRequest;
use shippy_common::paging::testing::walk;

use super::{RepoError, UserRepository};
use crate::domain::{StoredUser, User};

/// The event that goes with signing up `id`.
pub fn signed_up(id: &str) -> Outgoing {
    outgoing("shippy.log", id, &format!("signed up {id}"))
}

/// A stored user with id `id` and email `email`.
pub fn stored(id: &str, email: &str) -> StoredUser {
    StoredUser {
        user: User {
            id: id.into(),
            name: format!("name {id}"),
            company: "Acme".into(),
            email: email.into(),
        },
        password_hash: format!("$argon2id$hash-of-{id}"),
    }
}

pub async fn a_created_user_is_found_by_id_and_by_email(r: Arc<dyn UserRepository>) {
    let u = stored("u1", "a@example.com");
    r.create(&u, &signed_up("u1")).await.unwrap();
    assert_eq!(r.get("u1").await.unwrap(), Some(u.clone()));
    assert_eq!(r.by_email("a@example.com").await.unwrap(), Some(u));
    assert_eq!(r.get("nobody").await.unwrap(), None);
}

pub async fn a_second_user_with_the_same_email_is_refused(r: Arc<dyn UserRepository>) {
    r.create(&stored("u1", "a@example.com"), &signed_up("u1"))
        .await
        .unwrap();
    let dup = r
        .create(&stored("u2", "a@example.com"), &signed_up("u2"))
        .await;
    assert!(matches!(dup, Err(RepoError::DuplicateEmail)), "{dup:?}");
    assert_eq!(r.get("u2").await.unwrap(), None);
    let pending = waiting(r.outbox().as_ref()).await;
    assert_eq!(
        pending,
        vec![signed_up("u1")],
        "the refused sign-up left no event"
    );
}

/// Every user, by id: the first page of the largest size (all of them in these cases).
pub async fn all(r: &dyn UserRepository) -> Vec<StoredUser> {
    let page = PageRequest::first(shippy_common::paging::MAX_PAGE_SIZE);
    r.list(&page).await.unwrap()
}

pub async fn a_walk_through_the_pages_sees_every_user_once_whatever_signs_up_between(
    r: Arc<dyn UserRepository>,
) {
    let there: Vec<String> = (0..9).map(|i| format!("u{i}")).collect();
    for id in there.iter().rev() {
        r.create(&stored(id, &format!("{id}@example.com")), &signed_up(id))
            .await
            .unwrap();
    }
    let mut between = ["a0", "u35", "z9", "u05"].into_iter();
    let rows = walk(
        2,
        |s: &StoredUser| s.user.id.clone(),
        async |page| r.list(page).await.unwrap(),
        async || {
            if let Some(id) = between.next() {
                r.create(&stored(id, &format!("{id}@example.com")), &signed_up(id))
                    .await
                    .unwrap();
            }
        },
    )
    .await;
    let seen: Vec<String> = rows.into_iter().map(|s| s.user.id).collect();
    let walked: Vec<&String> = seen.iter().filter(|id| there.contains(id)).collect();
    assert_eq!(
        walked,
        there.iter().collect::<Vec<_>>(),
        "each once, by id: {seen:?}"
    );
    let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "nothing twice: {seen:?}");
    assert_eq!(all(r.as_ref()).await.len(), 13);
}

/// One `#[tokio::test]` per case for the adapter `$make` builds (a future of a fresh,
/// empty `Arc<dyn UserRepository>`).
#[macro_export]
macro_rules! user_repo_contract {
    // Cases that need test servers (`shippy_plugins::test_servers::TestServer`s): each is
    // skipped, saying why, when one is not running.
    (needs [$($server:expr),*], $make:expr) => {
        $crate::user_repo_contract!(@cases [$($server),*] $make;
            a_created_user_is_found_by_id_and_by_email,
            a_second_user_with_the_same_email_is_refused,
            a_walk_through_the_pages_sees_every_user_once_whatever_signs_up_between,
        );
    };
    ($make:expr) => {
        $crate::user_repo_contract!(needs [], $make);
    };
    (@cases $servers:tt $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                if !::shippy_plugins::test_servers::all_present(&$servers) {
                    return;
                }
                $crate::repo::contract::$case($make.await).await;
            }
        )+
    };
}
