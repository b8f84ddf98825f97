//! The check every service's error enum is held to, in its own tests: each error a service
//! can answer goes through the table ([`super::to_status`]) to the code and HTTP status its
//! kind names, in words a person can act on, with nothing only the service should see.

use super::{ErrorKind, KindedError, STORE_UNAVAILABLE, to_status};

/// What gives away an answer built from an internal error's own text: a store's, a
/// decoder's, a file path, a panic. None of it is ever in anything shippy answers.
pub const INTERNAL_WORDS: [&str; 14] = [
    "sqlite",
    "rusqlite",
    "mongodb",
    "bson",
    "serde",
    "invalid type:",
    "expected value at line",
    "panicked",
    "/data/",
    ".db",
    "Error {",
    "Os {",
    "kafka",
    "internal:",
];

/// Asserts that `error`, as a caller gets it, keeps to the table: the gRPC code of its kind
/// (and so the HTTP status the gateway maps it to), a non-empty message without `secret`
/// (the internal detail the error was made with; `""` for none) or any [`INTERNAL_WORDS`];
/// an internal fault says only "internal error", a store failure the table's words.
pub fn assert_answered_by_the_table<E: KindedError>(error: &E, secret: &str) {
    let kind = error.kind();
    let status = to_status(error);
    let message = status.message();
    assert_eq!(status.code(), kind.grpc_code(), "{error:?}: {status:?}");
    assert_eq!(
        ErrorKind::from_grpc(status.code()).http_status(),
        kind.http_status(),
        "{error:?}: the gateway answers it with its kind's HTTP status"
    );
    assert!(!message.trim().is_empty(), "{error:?}: says nothing");
    if !secret.is_empty() {
        assert!(
            !message.contains(secret),
            "{error:?} leaks {secret:?}: {message}"
        );
    }
    let lower = message.to_lowercase();
    for word in INTERNAL_WORDS {
        assert!(
            !lower.contains(&word.to_lowercase()),
            "{error:?} answers internal words ({word:?}): {message}"
        );
    }
    match kind {
        ErrorKind::Internal => assert_eq!(message, "internal error", "{error:?}"),
        _ if error.public_message().is_some() => {
            assert!(
                message.contains("(request "),
                "{error:?}: names no request: {message}"
            );
        }
        _ => {}
    }
    if message.starts_with(STORE_UNAVAILABLE) {
        assert_eq!(
            kind,
            ErrorKind::Unavailable,
            "{error:?}: a store failure is retryable"
        );
    }
}

/// Holds a whole error enum to the table: `errors` has one of each variant, with the internal
/// detail it was made with (`""` for none); `variant` numbers the variants `0..count` with an
/// exhaustive `match`, so a new variant fails to compile until numbered, then fails this until
/// it is listed.
pub fn assert_every_variant_answered_by_the_table<E: KindedError>(
    errors: &[(E, &str)],
    variant: impl Fn(&E) -> u8,
    count: u8,
) {
    let seen: std::collections::BTreeSet<u8> = errors.iter().map(|(e, _)| variant(e)).collect();
    assert_eq!(seen, (0..count).collect(), "every variant is here");
    for (error, secret) in errors {
        assert_answered_by_the_table(error, secret);
    }
}

/// A cause as a store or decoder would word it, with a path: what must never be answered.
pub const STORE_DETAIL: &str =
    "database is locked (SQLITE_BUSY) at /data/shippy/x.db: Error { code: 5 }";
