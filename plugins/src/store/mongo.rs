//! MongoDB plumbing: connect once per process, name databases, recognise duplicate keys.
//! Repositories keep ordinary documents (string `_id`s, plain fields), so any MongoDB
//! client can read what shippy wrote.

use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};

/// Connects to `uri` and answers database `name`. The driver connects lazily and pools
/// connections; build it once at start and clone it.
pub async fn connect(uri: &str, name: &str) -> Result<Database, mongodb::error::Error> {
    let mut options = ClientOptions::parse(uri).await?;
    options.app_name = Some("shippy".to_owned());
    Ok(Client::with_options(options)?.database(name))
}

/// True when a write broke a unique index (MongoDB error 11000).
pub fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == 11000,
        ErrorKind::Command(e) => e.code == 11000,
        _ => false,
    }
}

/// True when a transaction failed for a passing reason (a write conflict with another
/// transaction, a commit whose outcome is unknown): run it again.
pub fn is_transient(error: &mongodb::error::Error) -> bool {
    error.contains_label(mongodb::error::TRANSIENT_TRANSACTION_ERROR)
        || error.contains_label(mongodb::error::UNKNOWN_TRANSACTION_COMMIT_RESULT)
}

/// How many times a transaction that failed for a passing reason is run again.
pub const TRANSACTION_TRIES: u32 = 20;

/// The MongoDB URI of the test server `make test` starts (`SHIPPY_TEST_MONGO_URI`); a test
/// asks [`crate::test_servers::TestServer::present`] first, to be skipped without one.
///
/// # Panics
///
/// When no test server is running.
#[cfg(any(test, feature = "testing"))]
pub fn test_uri() -> String {
    crate::test_servers::TestServer::Mongo
        .address()
        .expect("a MongoDB-wire test server (ask TestServer::Mongo.present() first)")
}

/// A database no other test uses, on the test server.
#[cfg(any(test, feature = "testing"))]
pub async fn test_database(prefix: &str) -> Database {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = format!(
        "{prefix}_{}_{}_{n}",
        std::process::id(),
        crate::now_unix_ms()
    );
    connect(&test_uri(), &name)
        .await
        .expect("test MongoDB reachable")
}

/// The filter for the rows after `key` in an order over `key`'s fields (a unique key:
/// `capacity, max_weight, _id`), ascending or descending alike in every field: those with a
/// greater (lesser) first field, or an equal first and a greater (lesser) second, and so on.
/// For keyset paging: with the order's index, a page deep in a list costs what the first does.
pub fn after_key(key: &[(&str, mongodb::bson::Bson)], ascending: bool) -> mongodb::bson::Document {
    let beyond = if ascending { "$gt" } else { "$lt" };
    let branches: Vec<mongodb::bson::Bson> = (0..key.len())
        .map(|i| {
            let mut branch = mongodb::bson::Document::new();
            for (field, value) in &key[..i] {
                branch.insert(*field, value.clone());
            }
            let (field, value) = &key[i];
            branch.insert(*field, mongodb::bson::doc! { beyond: value.clone() });
            mongodb::bson::Bson::Document(branch)
        })
        .collect();
    mongodb::bson::doc! { "$or": branches }
}
