//! The activity log as the service understands it: events, which of them a caller may list
//! or watch (only their own), and the bounds of one listing. No wire types here: the gRPC
//! edge and the broker consumer translate.

use shippy_common::events::Detail;
use shippy_common::paging::{PageRequest, Query};
use shippy_common::{ErrorKind, FieldCode, FieldErrors, KindedError};

/// An event's place in a listing: newest first, by time, then by its place among its
/// subject's events (so two steps of one booking in the same millisecond list in the order
/// they happened), then by id (unique), so no event stored between pages makes another skip
/// or repeat.
pub type EventKey = (i64, i64, String);

/// One thing that happened, as the log keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Unique per event; the log stores each id once.
    pub id: String,
    /// The service that published it, e.g. `shippy.vessel`.
    pub origin: String,
    /// The RPC, e.g. `Create`.
    pub method: String,
    pub message: String,
    /// Who caused it; empty for the system's own events (seeding).
    pub user_id: String,
    pub time_unix_ms: i64,
    /// What it is about: a booking's consignment id, a vessel's, a user's.
    pub subject: String,
    /// Its place among its subject's events, from 1; 0: unordered.
    pub sequence: i64,
    /// The kind of event and its facts; none on events from before details.
    pub detail: Option<Detail>,
}

/// A listing as asked, before the rules: zeros and empty strings mean "not given".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Empty for the caller; anyone else's is refused.
    pub user_id: String,
    pub origin: String,
    pub since_unix_ms: i64,
    pub until_unix_ms: i64,
    /// The page size of clients from before paging; `page_size` wins when both are set.
    pub limit: i32,
    pub page_size: i32,
    pub page_token: String,
}

/// Which events to list: a query that passed the rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub user_id: String,
    /// Only this origin, when set.
    pub origin: Option<String>,
    /// Only at or after this time (unix ms), when set.
    pub since_unix_ms: Option<i64>,
    /// Only before this time (unix ms), when set.
    pub until_unix_ms: Option<i64>,
}

impl Filter {
    /// The query its page tokens are bound to.
    pub fn query(&self) -> Query {
        Query::new("events")
            .with("user", &self.user_id)
            .with("origin", self.origin.as_deref().unwrap_or_default())
            .with("since", self.since_unix_ms.unwrap_or_default())
            .with("until", self.until_unix_ms.unwrap_or_default())
    }

    pub fn admits(&self, e: &Event) -> bool {
        e.user_id == self.user_id
            && self.origin.as_ref().is_none_or(|o| *o == e.origin)
            && self.since_unix_ms.is_none_or(|t| e.time_unix_ms >= t)
            && self.until_unix_ms.is_none_or(|t| e.time_unix_ms < t)
    }
}

impl Event {
    pub fn key(&self) -> EventKey {
        (self.time_unix_ms, self.sequence, self.id.clone())
    }
}

impl ListQuery {
    /// The filter and page this query asks for on behalf of `caller_id`: a caller lists only
    /// their own events, a page at a time (`shippy_common::paging`).
    pub fn filter_for(self, caller_id: &str) -> Result<(Filter, PageRequest<EventKey>), LogError> {
        if !self.user_id.is_empty() && self.user_id != caller_id {
            return Err(LogError::OthersEvents);
        }
        let mut errors = FieldErrors::new();
        let negative = "must not be negative";
        errors.check(self.limit >= 0, "limit", FieldCode::TooSmall, negative);
        errors.check(
            self.since_unix_ms >= 0,
            "since_unix_ms",
            FieldCode::TooSmall,
            negative,
        );
        errors.check(
            self.until_unix_ms >= 0,
            "until_unix_ms",
            FieldCode::TooSmall,
            negative,
        );
        errors.finish().map_err(LogError::Invalid)?;
        let filter = Filter {
            user_id: caller_id.to_owned(),
            origin: given(&self.origin),
            since_unix_ms: Some(self.since_unix_ms).filter(|t| *t > 0),
            until_unix_ms: Some(self.until_unix_ms).filter(|t| *t > 0),
        };
        let size = if self.page_size == 0 {
            self.limit
        } else {
            self.page_size
        };
        let page = PageRequest::parse(size, &self.page_token, &filter.query())
            .map_err(LogError::Invalid)?;
        Ok((filter, page))
    }
}

/// `s` trimmed, unless that leaves nothing.
fn given(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// What a watcher sees of the live feed: their own new events, from one origin if asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    user_id: String,
    origin: Option<String>,
}

impl Watch {
    /// `caller_id`'s watch, of `origin` only unless it is empty.
    pub fn new(caller_id: &str, origin: &str) -> Self {
        Self {
            user_id: caller_id.to_owned(),
            origin: given(origin),
        }
    }

    /// Whether the watcher sees `event`.
    pub fn sees(&self, event: &Event) -> bool {
        event.user_id == self.user_id && self.origin.as_ref().is_none_or(|o| *o == event.origin)
    }
}

/// What the log service can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("user_id: you can only list your own events")]
    OthersEvents,
    /// Every field the query got wrong.
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The store could not answer. The detail (kept here for the log line the edge
    /// writes) is not shown to the caller.
    #[error("log store unavailable")]
    Store(String),
    #[error("too many live feeds are open on this server; try again in a minute")]
    TooManyFeeds,
    #[error("you have {0} live feeds open, the most one user may: close one first")]
    TooManyOfYourFeeds(usize),
    #[error("token revoked: its holder logged out; the live feed ended")]
    FeedTokenRevoked,
    #[error("token expired: the live feed ended; log in again")]
    FeedTokenExpired,
    #[error("this instance fell behind the log-outs; the live feed ended: reconnect in a moment")]
    FeedBehindLogOuts,
}

impl LogError {
    /// What went wrong underneath, for the service's own log.
    pub fn detail(&self) -> String {
        match self {
            LogError::Store(detail) => detail.clone(),
            other => other.to_string(),
        }
    }
}

impl KindedError for LogError {
    fn kind(&self) -> ErrorKind {
        match self {
            LogError::OthersEvents => ErrorKind::PermissionDenied,
            LogError::Invalid(_) => ErrorKind::InvalidArgument,
            LogError::Store(_) => ErrorKind::Unavailable,
            LogError::TooManyFeeds | LogError::TooManyOfYourFeeds(_) => {
                ErrorKind::ResourceExhausted
            }
            LogError::FeedTokenRevoked | LogError::FeedTokenExpired => ErrorKind::Unauthenticated,
            LogError::FeedBehindLogOuts => ErrorKind::Unavailable,
        }
    }

    fn fields(&self) -> Option<&FieldErrors> {
        match self {
            LogError::Invalid(fields) => Some(fields),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shippy_common::error::testing::{STORE_DETAIL, assert_every_variant_answered_by_the_table};

    /// Which variant `error` is: a new variant fails to compile until it is numbered here,
    /// and then [`every_error_is_answered_in_the_tables_words`] until it is in its list.
    fn variant(error: &LogError) -> u8 {
        match error {
            LogError::OthersEvents => 0,
            LogError::Invalid(_) => 1,
            LogError::Store(_) => 2,
            LogError::TooManyFeeds => 3,
            LogError::TooManyOfYourFeeds(_) => 4,
            LogError::FeedTokenRevoked => 5,
            LogError::FeedTokenExpired => 6,
            LogError::FeedBehindLogOuts => 7,
        }
    }

    #[test]
    fn every_error_is_answered_in_the_tables_words() {
        let errors = [
            (LogError::OthersEvents, ""),
            (
                LogError::Invalid(FieldErrors::one("limit", FieldCode::TooLarge, "too many")),
                "",
            ),
            (LogError::Store(STORE_DETAIL.into()), STORE_DETAIL),
            (LogError::TooManyFeeds, ""),
            (LogError::TooManyOfYourFeeds(5), ""),
            (LogError::FeedTokenRevoked, ""),
            (LogError::FeedTokenExpired, ""),
            (LogError::FeedBehindLogOuts, ""),
        ];
        assert_every_variant_answered_by_the_table(&errors, variant, 8);
    }

    fn event(user_id: &str, origin: &str) -> Event {
        Event {
            id: "e1".into(),
            origin: origin.into(),
            method: "Create".into(),
            message: "m".into(),
            user_id: user_id.into(),
            time_unix_ms: 1,
            subject: String::new(),
            sequence: 0,
            detail: None,
        }
    }

    #[test]
    fn asking_for_another_users_events_is_refused_and_asking_for_your_own_is_not() {
        let theirs = ListQuery {
            user_id: "bob".into(),
            ..ListQuery::default()
        };
        let refused = theirs.filter_for("alice").unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
        let mine = ListQuery {
            user_id: "alice".into(),
            ..ListQuery::default()
        };
        assert_eq!(mine.filter_for("alice").unwrap().0.user_id, "alice");
    }

    #[test]
    fn every_negative_bound_is_named_at_once() {
        let query = ListQuery {
            limit: -1,
            since_unix_ms: -1,
            until_unix_ms: -1,
            ..ListQuery::default()
        };
        let Err(LogError::Invalid(errors)) = query.filter_for("alice") else {
            panic!("negative bounds were accepted");
        };
        assert_eq!(errors.names(), ["limit", "since_unix_ms", "until_unix_ms"]);
    }

    #[test]
    fn unset_bounds_mean_no_bound_and_an_origin_is_trimmed() {
        let query = ListQuery {
            origin: " shippy.vessel ".into(),
            ..ListQuery::default()
        };
        let (f, page) = query.filter_for("alice").unwrap();
        assert_eq!(f.origin.as_deref(), Some("shippy.vessel"));
        assert_eq!((f.since_unix_ms, f.until_unix_ms), (None, None));
        assert_eq!(
            page,
            PageRequest::first(shippy_common::paging::DEFAULT_PAGE_SIZE)
        );
    }

    #[test]
    fn a_watcher_sees_only_their_own_events_of_the_origin_asked() {
        let all = Watch::new("alice", " ");
        assert!(all.sees(&event("alice", "shippy.user")));
        assert!(!all.sees(&event("bob", "shippy.user")));
        let vessels = Watch::new("alice", "shippy.vessel");
        assert!(vessels.sees(&event("alice", "shippy.vessel")));
        assert!(!vessels.sees(&event("alice", "shippy.user")));
    }
}
