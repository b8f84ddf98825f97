//! Live feeds, bounded: a feed lives no longer than the token that opened it (it ends at the
//! token's expiry, and within a second of its log-out reaching this instance, with
//! UNAUTHENTICATED saying which), each user may hold `per_user` feeds open at once and the
//! instance `total`; past either, RESOURCE_EXHAUSTED saying so. The count of a user's feeds
//! lives only while one is open, so the map holds at most `total` users.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shippy_common::auth::{Claims, TokenVerifier};
use shippy_common::error::to_status;
use shippy_proto::tonic::Status;
use tokio_stream::{Stream, StreamExt};

use crate::domain::LogError;

/// How often an open feed checks whether its token was revoked.
const REVOCATION_CHECK: Duration = Duration::from_millis(500);

/// The open feeds of one instance.
#[derive(Clone)]
pub struct Feeds {
    inner: Arc<Inner>,
}

struct Inner {
    per_user: usize,
    total: usize,
    open: Mutex<HashMap<String, usize>>,
    verifier: Arc<TokenVerifier>,
}

/// One open feed's place: given back when the feed is dropped, however it ends.
pub struct Seat {
    inner: Arc<Inner>,
    user_id: String,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut open = self.inner.open();
        if let Some(n) = open.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.user_id);
            }
        }
        metrics::gauge!("shippy_live_feeds_open").decrement(1.0);
    }
}

impl Inner {
    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Feeds {
    /// At most `per_user` feeds per user and `total` in all; `verifier` knows the log-outs.
    pub fn new(per_user: usize, total: usize, verifier: Arc<TokenVerifier>) -> Self {
        Self {
            inner: Arc::new(Inner {
                per_user,
                total,
                open: Mutex::new(HashMap::new()),
                verifier,
            }),
        }
    }

    /// A seat for one more feed of `user_id`, or why there is none.
    pub fn seat(&self, user_id: &str) -> Result<Seat, LogError> {
        let mut open = self.inner.open();
        let all: usize = open.values().sum();
        if all >= self.inner.total {
            return Err(LogError::TooManyFeeds);
        }
        let mine = open.entry(user_id.to_owned()).or_insert(0);
        if *mine >= self.inner.per_user {
            return Err(LogError::TooManyOfYourFeeds(self.inner.per_user));
        }
        *mine += 1;
        metrics::gauge!("shippy_live_feeds_open").increment(1.0);
        Ok(Seat {
            inner: Arc::clone(&self.inner),
            user_id: user_id.to_owned(),
        })
    }

    /// `events`, ending with UNAUTHENTICATED once the token `claims` describe has expired
    /// or been revoked; `seat` is held until then.
    pub fn bound<S, T>(
        &self,
        events: S,
        claims: Arc<Claims>,
        seat: Seat,
    ) -> impl Stream<Item = Result<T, Status>> + Send + use<S, T>
    where
        S: Stream<Item = Result<T, Status>> + Send + 'static,
        T: Send + 'static,
    {
        enum Item<T> {
            Next(Result<T, Status>),
            Check,
        }
        let verifier = Arc::clone(&self.inner.verifier);
        let checks =
            tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(REVOCATION_CHECK))
                .map(|_| Item::Check);
        let mut ended = false;
        events
            .map(Item::Next)
            .merge(checks)
            .filter_map(move |item| {
                let _seat = &seat;
                match item {
                    Item::Next(next) => Some(next),
                    Item::Check => ended_by(&verifier, &claims).map(Err),
                }
            })
            .map_while(move |item| {
                if ended {
                    return None;
                }
                ended = item.is_err();
                Some(item)
            })
    }
}

/// Why a feed opened with `claims` must end now, if it must.
fn ended_by(verifier: &TokenVerifier, claims: &Claims) -> Option<Status> {
    let why = if !verifier.is_current() {
        LogError::FeedBehindLogOuts
    } else if verifier.is_revoked(claims) {
        LogError::FeedTokenRevoked
    } else if shippy_common::auth::now_secs() >= claims.exp {
        LogError::FeedTokenExpired
    } else {
        return None;
    };
    Some(to_status(&why))
}

#[cfg(test)]
mod tests {
    use shippy_common::auth::{generate_key_pair, testing};
    use shippy_proto::tonic::Code;

    use super::*;

    fn feeds(per_user: usize, total: usize) -> (Feeds, Arc<TokenVerifier>) {
        let keys = generate_key_pair().unwrap();
        let config = testing::auth_config(5);
        let verifier =
            Arc::new(TokenVerifier::from_pem(keys.public_pem.as_bytes(), &config).unwrap());
        (Feeds::new(per_user, total, Arc::clone(&verifier)), verifier)
    }

    fn claims(jti: &str, exp: i64) -> Arc<Claims> {
        Arc::new(Claims {
            jti: jti.into(),
            exp,
            ..testing::claims("alice", "shippy.user")
        })
    }

    #[test]
    fn each_user_and_the_instance_have_a_cap_and_a_closed_feed_gives_its_seat_back() {
        let (feeds, _) = feeds(2, 3);
        let a1 = feeds.seat("alice").unwrap();
        let _a2 = feeds.seat("alice").unwrap();
        assert!(matches!(
            feeds.seat("alice"),
            Err(LogError::TooManyOfYourFeeds(2))
        ));
        let _b1 = feeds.seat("bob").unwrap();
        assert!(matches!(feeds.seat("carol"), Err(LogError::TooManyFeeds)));
        drop(a1);
        assert!(feeds.seat("carol").is_ok(), "alice closed one");
        assert!(
            feeds.inner.open().len() <= 3,
            "one entry per user with a feed open"
        );
    }

    #[tokio::test]
    async fn a_feed_ends_unauthenticated_once_its_token_is_logged_out() {
        let (feeds, verifier) = feeds(5, 100);
        let token = claims("t-1", shippy_common::auth::now_secs() + 3600);
        let seat = feeds.seat("alice").unwrap();
        let quiet = tokio_stream::pending::<Result<u32, Status>>();
        let mut feed = Box::pin(feeds.bound(quiet, Arc::clone(&token), seat));
        verifier.revoke("t-1", token.exp);
        let ended = feed.next().await.unwrap().unwrap_err();
        assert_eq!(ended.code(), Code::Unauthenticated);
        assert!(ended.message().starts_with("token revoked"), "{ended:?}");
        assert!(feed.next().await.is_none(), "and nothing after");
        drop(feed);
        assert!(feeds.inner.open().is_empty(), "its seat is given back");
    }

    #[tokio::test]
    async fn a_feed_ends_when_its_token_expires_and_carries_events_until_then() {
        let (feeds, _) = feeds(5, 100);
        // Expires within the next two seconds: the feed carries what comes before.
        let token = claims("t-2", shippy_common::auth::now_secs() + 1);
        let seat = feeds.seat("alice").unwrap();
        let mut feed = Box::pin(feeds.bound(
            tokio_stream::iter([Ok::<u32, Status>(7)]).chain(tokio_stream::pending()),
            token,
            seat,
        ));
        assert_eq!(feed.next().await.unwrap().unwrap(), 7);
        let ended = feed.next().await.unwrap().unwrap_err();
        assert!(ended.message().starts_with("token expired"), "{ended:?}");
    }
}
