//! Cursor pagination for every list, as Google's API guidelines have it (AIP-158). A request
//! names `page_size` (0: [`DEFAULT_PAGE_SIZE`]; past [`MAX_PAGE_SIZE`]: that many) and the
//! `page_token` of the answer before (empty: the first page); an answer carries
//! `next_page_token`, empty after the last page.
//!
//! Each list is ordered by a key no two rows share, and a page starts after the last key the
//! page before gave (keyset paging, not an offset): a row written or removed between pages
//! makes none of the rows there throughout skip or repeat, and a page deep in the list costs
//! what the first does. A token is opaque to clients: that key, and a fingerprint of the
//! query that made it (the list, its filters, the caller), so a token from another query or
//! another user is refused, INVALID_ARGUMENT naming `page_token`. It carries nothing the
//! caller may not see: the rows are filtered for the caller whatever a token says.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fields::{FieldCode, FieldErrors};

/// Rows in a page when the request names no size.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// The most rows in one page; a larger `page_size` gets this many.
pub const MAX_PAGE_SIZE: usize = 500;
/// The most bytes of rows one page carries (encoded), well inside gRPC's 4 MiB message cap:
/// a page of large rows (a consignment may carry 10,000 containers) ends early, with a
/// token for the rest. One row is always given, whatever its size.
pub const MAX_PAGE_BYTES: usize = 3 * 1024 * 1024;

/// What a list's query is, to bind its tokens to: the list's name, each filter, the caller.
#[derive(Clone)]
pub struct Query(Sha256);

impl std::fmt::Debug for Query {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Query({})", self.fingerprint())
    }
}

impl Query {
    /// The query of the list `list` (e.g. `vessels`), before its filters.
    pub fn new(list: &str) -> Self {
        Self(Sha256::new()).with("list", list)
    }

    /// The query with `name` set to `value`.
    pub fn with(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        let value = value.to_string();
        for part in [name, value.as_str()] {
            self.0.update((part.len() as u64).to_le_bytes());
            self.0.update(part.as_bytes());
        }
        self
    }

    fn fingerprint(&self) -> String {
        let digest = self.0.clone().finalize();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What a token holds.
#[derive(Serialize, Deserialize)]
struct Token<K> {
    /// The fingerprint of the query that made it.
    q: String,
    /// The key of the last row given.
    k: K,
}

/// A page asked for: at most `size` rows, those after the key `after` (from the start when
/// `None`), in the list's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest<K> {
    pub size: usize,
    pub after: Option<K>,
}

impl<K> PageRequest<K> {
    /// The first page of `size` rows.
    pub fn first(size: usize) -> Self {
        Self { size, after: None }
    }

    /// How many rows a store fetches: one more than the page, to know whether a next exists.
    pub fn fetch(&self) -> usize {
        self.size + 1
    }
}

impl<K: Serialize + DeserializeOwned> PageRequest<K> {
    /// The page `page_size` and `page_token` ask for in `query`: INVALID_ARGUMENT (as
    /// field errors) for a negative size, or a token that is garbled or from another query.
    pub fn parse(page_size: i32, page_token: &str, query: &Query) -> Result<Self, FieldErrors> {
        let size = match usize::try_from(page_size) {
            Err(_) => {
                return Err(FieldErrors::one(
                    "page_size",
                    FieldCode::TooSmall,
                    "must not be negative (0 asks for the default, 50)",
                ));
            }
            Ok(0) => DEFAULT_PAGE_SIZE,
            Ok(size) => size.min(MAX_PAGE_SIZE),
        };
        let page_token = page_token.trim();
        if page_token.is_empty() {
            return Ok(Self::first(size));
        }
        let token: Token<K> = URL_SAFE_NO_PAD
            .decode(page_token)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| {
                FieldErrors::one(
                    "page_token",
                    FieldCode::BadFormat,
                    "is not a page token shippy made: send next_page_token as it came",
                )
            })?;
        if token.q != query.fingerprint() {
            return Err(FieldErrors::one(
                "page_token",
                FieldCode::BadFormat,
                "belongs to another list, other filters or another user: page a list with \
                 the tokens its own answers gave",
            ));
        }
        Ok(Self {
            size,
            after: Some(token.k),
        })
    }

    /// The page of `rows` (as the store answered [`fetch`](Self::fetch) of them, in order):
    /// the first `size`, and the token of the page after them when there is one more.
    pub fn page<T>(&self, rows: Vec<T>, key: impl Fn(&T) -> K, query: &Query) -> Page<T> {
        self.page_within(rows, key, |_| 0, query)
    }

    /// [`page`](Self::page), ending early where the rows would pass [`MAX_PAGE_BYTES`] as
    /// `bytes` counts them (their encoded size), so no answer outgrows a gRPC message.
    pub fn page_within<T>(
        &self,
        mut rows: Vec<T>,
        key: impl Fn(&T) -> K,
        bytes: impl Fn(&T) -> usize,
        query: &Query,
    ) -> Page<T> {
        let (mut total, mut fits) = (0usize, 0usize);
        for row in rows.iter().take(self.size) {
            total = total.saturating_add(bytes(row));
            if fits > 0 && total > MAX_PAGE_BYTES {
                break;
            }
            fits += 1;
        }
        let more = rows.len() > fits;
        rows.truncate(fits);
        let next_page_token = match rows.last() {
            Some(last) if more => token(key(last), query),
            _ => String::new(),
        };
        Page {
            items: rows,
            next_page_token,
        }
    }
}

/// The token of the page after the row with `key` in `query`.
fn token<K: Serialize>(key: K, query: &Query) -> String {
    let token = Token {
        q: query.fingerprint(),
        k: key,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Empty after the last page.
    pub next_page_token: String,
}

impl<T> Page<T> {
    /// The page with each row turned into what the answer carries.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_page_token: self.next_page_token,
        }
    }
}

/// For the repositories' contract suites: walks a list page by page, as a client does.
#[cfg(any(test, feature = "testing"))]
pub mod testing {
    use super::*;

    /// Walks a list to its end, `size` rows a page: `fetch` asks the store for a page (it must
    /// answer at most [`PageRequest::fetch`] rows), each next page is asked through the token
    /// the one before gave, and `between` runs after each page (to write while the walk goes
    /// on). Answers every row the pages gave, in order.
    pub async fn walk<T, K: Serialize + DeserializeOwned>(
        size: usize,
        key: impl Fn(&T) -> K,
        mut fetch: impl AsyncFnMut(&PageRequest<K>) -> Vec<T>,
        mut between: impl AsyncFnMut(),
    ) -> Vec<T> {
        let query = Query::new("walk");
        let size_asked = i32::try_from(size).unwrap_or(i32::MAX);
        let mut next = Some(PageRequest::first(size));
        let mut seen = Vec::new();
        while let Some(request) = next.take() {
            let rows = fetch(&request).await;
            assert!(
                rows.len() <= request.fetch(),
                "the store answered past the page"
            );
            let page = request.page(rows, &key, &query);
            seen.extend(page.items);
            if !page.next_page_token.is_empty() {
                next = Some(
                    PageRequest::parse(size_asked, &page.next_page_token, &query)
                        .expect("a token just made"),
                );
            }
            between().await;
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Key = (i32, String);

    fn vessels(user: &str) -> Query {
        Query::new("vessels").with("owner", user)
    }

    #[test]
    fn sizes_default_clamp_and_refuse_negatives() {
        let q = vessels("u1");
        assert_eq!(PageRequest::<Key>::parse(0, "", &q).unwrap().size, 50);
        assert_eq!(PageRequest::<Key>::parse(7, "", &q).unwrap().size, 7);
        assert_eq!(
            PageRequest::<Key>::parse(100_000, "", &q).unwrap().size,
            500
        );
        let refused = PageRequest::<Key>::parse(-1, "", &q).unwrap_err();
        assert_eq!(refused.names(), ["page_size"]);
    }

    #[test]
    fn a_page_gives_the_token_of_the_next_and_the_last_page_none() {
        let q = vessels("u1");
        let request = PageRequest::<Key>::parse(2, "", &q).unwrap();
        let rows = vec![
            (1, "a".to_owned()),
            (2, "b".to_owned()),
            (3, "c".to_owned()),
        ];
        let page = request.page(rows, Clone::clone, &q);
        assert_eq!(page.items.len(), 2);
        let next = PageRequest::<Key>::parse(2, &page.next_page_token, &q).unwrap();
        assert_eq!(
            next.after,
            Some((2, "b".to_owned())),
            "after the last row given"
        );
        let last = next.page(vec![(3, "c".to_owned())], Clone::clone, &q);
        assert_eq!(last.next_page_token, "", "no page after the last");
    }

    #[test]
    fn a_page_of_large_rows_ends_before_the_byte_budget_and_goes_on_after_it() {
        let q = vessels("u1");
        let request = PageRequest::<Key>::parse(50, "", &q).unwrap();
        let rows: Vec<Key> = (0..10).map(|i| (i, format!("r{i}"))).collect();
        // Each row a third of the budget and a bit: three would pass it.
        let size = |_: &Key| MAX_PAGE_BYTES / 3 + 1;
        let page = request.page_within(rows.clone(), Clone::clone, size, &q);
        assert_eq!(page.items.len(), 2);
        let next = PageRequest::<Key>::parse(50, &page.next_page_token, &q).unwrap();
        assert_eq!(next.after, Some((1, "r1".to_owned())), "the rest follow");
        let huge = |_: &Key| MAX_PAGE_BYTES * 2;
        let one = request.page_within(rows, Clone::clone, huge, &q);
        assert_eq!(one.items.len(), 1, "one row always goes, whatever its size");
        assert!(!one.next_page_token.is_empty());
    }

    #[test]
    fn a_token_from_another_query_or_user_or_garbled_is_refused() {
        let mine = vessels("u1");
        let rows = vec![(1, "a".to_owned()), (2, "b".to_owned())];
        let token = PageRequest::<Key>::first(1)
            .page(rows, Clone::clone, &mine)
            .next_page_token;
        for (what, query) in [
            ("another user", vessels("u2")),
            ("another filter", vessels("u1").with("available", true)),
            (
                "another list",
                Query::new("consignments").with("owner", "u1"),
            ),
        ] {
            let refused = PageRequest::<Key>::parse(1, &token, &query).unwrap_err();
            assert_eq!(refused.names(), ["page_token"], "{what}");
            assert!(refused.to_string().contains("another"), "{what}: {refused}");
        }
        for garbled in ["x", "not base64!", &token[1..]] {
            let refused = PageRequest::<Key>::parse(1, garbled, &mine).unwrap_err();
            assert_eq!(refused.names(), ["page_token"], "{garbled}");
        }
        assert!(PageRequest::<Key>::parse(1, &token, &mine).is_ok());
    }
}
