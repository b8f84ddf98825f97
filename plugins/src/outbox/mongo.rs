//! The outbox as a collection beside a service's own: a write and its event are inserted in
//! one multi-document transaction (MongoDB needs a replica set for that; compose runs one).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use mongodb::bson::{Binary, doc, oid::ObjectId, spec::BinarySubtype};
use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::{ClientSession, Collection, Database};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::{Outbox, OutboxError, Outgoing, Pending};
use crate::broker::Message;
use crate::store::mongo::TRANSACTION_TRIES;

/// One event waiting to be published, as MongoDB keeps it: a document of the outbox
/// collection, or an element of a document's embedded outbox ([`super::embedded`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    #[serde(rename = "_id")]
    pub(crate) id: ObjectId,
    /// Microseconds, made strictly increasing within a process: the order of the line.
    pub(crate) seq: i64,
    topic: String,
    key: String,
    headers: BTreeMap<String, String>,
    payload: Binary,
}

impl Entry {
    /// `outgoing`, ready to store, placed after every entry made before it in this process.
    /// Refused when the fault flag `store.refuse_writes` is on: every write carries an event,
    /// so this is where a store refusing writes is played.
    pub fn new(outgoing: &Outgoing) -> mongodb::error::Result<Self> {
        refuse_if_flagged()?;
        Ok(entry(outgoing))
    }

    pub(crate) fn into_pending(self, id: String) -> Pending {
        Pending {
            id,
            outgoing: Outgoing {
                topic: self.topic,
                message: Message {
                    key: self.key,
                    headers: self.headers,
                    payload: self.payload.bytes,
                },
            },
        }
    }
}

/// The next `seq`: the clock in microseconds, but never less than one past the last.
fn next_seq() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = crate::now_unix_ms().saturating_mul(1000);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

fn entry(o: &Outgoing) -> Entry {
    Entry {
        id: ObjectId::new(),
        seq: next_seq(),
        topic: o.topic.clone(),
        key: o.message.key.clone(),
        headers: o.message.headers.clone(),
        payload: Binary {
            subtype: BinarySubtype::Generic,
            bytes: o.message.payload.clone(),
        },
    }
}

/// The `outbox` collection of a service's database.
#[derive(Clone, Debug)]
pub struct MongoOutbox {
    entries: Collection<Entry>,
    committed: std::sync::Arc<tokio::sync::Notify>,
}

impl MongoOutbox {
    /// The outbox collection `name` of `db` (one per owning service), with its index.
    pub async fn open(db: &Database, name: &str) -> Result<Self, OutboxError> {
        let entries = db.collection::<Entry>(name);
        let by_seq = mongodb::IndexModel::builder()
            .keys(doc! { "seq": 1 })
            .build();
        entries.create_index(by_seq).await?;
        Ok(Self {
            entries,
            committed: std::sync::Arc::default(),
        })
    }

    /// Inserts `document` into `collection` and enqueues `outgoing`, in one transaction:
    /// both or neither. As MongoDB documents it, a transaction that fails with the
    /// `TransientTransactionError` label (a write conflict, an election) is run again, and a
    /// commit whose outcome is unknown is committed again, up to
    /// [`TRANSACTION_TRIES`](crate::store::mongo::TRANSACTION_TRIES) times; then the error
    /// stands (the caller answers UNAVAILABLE).
    pub async fn insert_with<T>(
        &self,
        collection: &Collection<T>,
        document: T,
        outgoing: &Outgoing,
    ) -> mongodb::error::Result<()>
    where
        T: Serialize + DeserializeOwned + Send + Sync,
    {
        refuse_if_flagged()?;
        retried(|| self.insert_once(collection, &document, outgoing)).await?;
        self.written();
        Ok(())
    }

    /// Commits `session`'s transaction, in which entries were enqueued
    /// ([`Self::enqueue_in`]), and wakes the relay once it has.
    pub async fn commit(&self, session: &mut ClientSession) -> mongodb::error::Result<()> {
        commit(session).await?;
        self.written();
        Ok(())
    }

    /// Wakes the relay: a write that enqueued entries (here, or in documents of their own:
    /// [`super::EmbeddedOutbox`]) has committed.
    pub fn written(&self) {
        self.committed.notify_one();
    }

    async fn insert_once<T>(
        &self,
        collection: &Collection<T>,
        document: &T,
        outgoing: &Outgoing,
    ) -> mongodb::error::Result<()>
    where
        T: Serialize + DeserializeOwned + Send + Sync,
    {
        let mut session = collection.client().start_session().await?;
        session.start_transaction().await?;
        collection
            .insert_one(document)
            .session(&mut session)
            .await?;
        self.entries
            .insert_one(entry(outgoing))
            .session(&mut session)
            .await?;
        commit(&mut session).await
    }
}

/// Every write publishes an event, so this is where a store refusing writes is played.
/// Runs the transaction `once` makes again while it fails with the
/// `TransientTransactionError` label, up to [`TRANSACTION_TRIES`] times; then the error
/// stands.
async fn retried<T, F, Fut>(mut once: F) -> mongodb::error::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = mongodb::error::Result<T>>,
{
    let mut tries: u32 = 0;
    loop {
        tries += 1;
        match once().await {
            Err(e)
                if e.contains_label(TRANSIENT_TRANSACTION_ERROR) && tries < TRANSACTION_TRIES =>
            {
                tracing::debug!(error = %e, tries, "transient transaction error: running it again");
                tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(tries))).await;
            }
            result => return result,
        }
    }
}

fn refuse_if_flagged() -> mongodb::error::Result<()> {
    if crate::flags::on(crate::flags::STORE_REFUSES_WRITES) {
        crate::flags::injected(
            crate::flags::STORE_REFUSES_WRITES,
            "the store refused a write",
        );
        return Err(std::io::Error::other(
            "the store refuses writes (fault flag store.refuse_writes)",
        )
        .into());
    }
    Ok(())
}

/// Commits `session`'s transaction, again while its outcome is unknown.
pub async fn commit(session: &mut ClientSession) -> mongodb::error::Result<()> {
    let mut tries = 0;
    loop {
        tries += 1;
        match session.commit_transaction().await {
            Err(e)
                if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT)
                    && tries < TRANSACTION_TRIES => {}
            result => return result,
        }
    }
}

impl MongoOutbox {
    /// Enqueues `outgoing` inside `session`'s transaction, the one of the write it
    /// describes; commit it with [`Self::commit`], which wakes the relay.
    pub async fn enqueue_in(
        &self,
        session: &mut ClientSession,
        outgoing: &Outgoing,
    ) -> mongodb::error::Result<()> {
        refuse_if_flagged()?;
        self.entries
            .insert_one(entry(outgoing))
            .session(session)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Outbox for MongoOutbox {
    /// One transaction for the lot (several documents in one `insert_many` are not atomic
    /// on their own), run again on a transient error as [`MongoOutbox::insert_with`]'s is.
    async fn enqueue_all(&self, outgoing: &[Outgoing]) -> Result<(), OutboxError> {
        refuse_if_flagged()?;
        retried(|| async {
            let mut session = self.entries.client().start_session().await?;
            session.start_transaction().await?;
            self.entries
                .insert_many(outgoing.iter().map(entry))
                .session(&mut session)
                .await?;
            commit(&mut session).await
        })
        .await?;
        self.written();
        Ok(())
    }

    async fn pending(&self, limit: usize) -> Result<Vec<Pending>, OutboxError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut cursor = self
            .entries
            .find(doc! {})
            .sort(doc! { "seq": 1, "_id": 1 })
            .limit(limit)
            .await?;
        let mut entries = Vec::new();
        while cursor.advance().await? {
            entries.push(cursor.deserialize_current()?);
        }
        Ok(entries
            .into_iter()
            .map(|e| {
                let id = e.id.to_hex();
                e.into_pending(id)
            })
            .collect())
    }

    async fn sent(&self, ids: &[String]) -> Result<(), OutboxError> {
        let ids = ids
            .iter()
            .map(|id| {
                ObjectId::parse_str(id)
                    .map_err(|_| OutboxError::Unavailable(format!("no outbox entry {id:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.entries
            .delete_many(doc! { "_id": { "$in": ids } })
            .await?;
        Ok(())
    }

    async fn backlog(&self) -> Result<u64, OutboxError> {
        Ok(self.entries.count_documents(doc! {}).await?)
    }

    fn committed(&self) -> std::sync::Arc<tokio::sync::Notify> {
        std::sync::Arc::clone(&self.committed)
    }
}
