//! The outbox inside the documents it describes, for MongoDB writes that must not need a
//! multi-document transaction. A write and its event go in one single-document write: the
//! document carries its waiting events in an array field `outbox`, and `outbox_seq` (the
//! `seq` of the oldest, absent once the array is empty) lets the relay find them in order.
//!
//! Why: a process killed inside a multi-document transaction leaves that transaction, and
//! the write locks it took, on the server until its lifetime limit (60 s by default), and
//! every other write to those documents fails with `WriteConflict` until then. A single
//! document write is atomic on its own and leaves nothing behind when its writer dies.
//!
//! The outbox collection beside it (a [`MongoOutbox`]) still takes events enqueued on their
//! own and drains whatever an older version left there.

use std::collections::BTreeSet;

use async_trait::async_trait;
use mongodb::bson::{Bson, Document, doc, oid::ObjectId};
use mongodb::{Collection, IndexModel};
use serde::Deserialize;

use super::mongo::{Entry, MongoOutbox};
use super::{Outbox, OutboxError, Outgoing, Pending};

/// The array of waiting events in each document.
pub const FIELD: &str = "outbox";
/// The `seq` of a document's oldest waiting event; absent when none waits.
pub const SEQ_FIELD: &str = "outbox_seq";

/// Separates an entry's id from its document's in a [`Pending`] id: an entry id is 24 hex
/// digits, so the first `@` is this one.
const SEPARATOR: char = '@';

/// A collection's documents with their events inside, and the outbox collection beside it.
#[derive(Clone, Debug)]
pub struct EmbeddedOutbox {
    documents: Collection<Holder>,
    beside: MongoOutbox,
}

/// What the relay reads of a document: its id and its waiting events.
#[derive(Debug, Deserialize)]
struct Holder {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    outbox: Vec<Entry>,
}

impl EmbeddedOutbox {
    /// The events inside the documents of `documents` (whose `_id`s are strings), with
    /// `beside` for events enqueued on their own; creates the index the relay reads by.
    pub async fn open<T: Send + Sync>(
        documents: &Collection<T>,
        beside: MongoOutbox,
    ) -> Result<Self, OutboxError> {
        let documents = documents.clone_with_type::<Holder>();
        let by_seq = IndexModel::builder().keys(doc! { SEQ_FIELD: 1 }).build();
        documents.create_index(by_seq).await?;
        Ok(Self { documents, beside })
    }

    /// The fields a new document carries so that it is inserted with `outgoing` waiting
    /// inside it: one insert, atomic.
    pub fn insert_fields(outgoing: &Outgoing) -> mongodb::error::Result<Document> {
        let entry = Entry::new(outgoing)?;
        let seq = entry.seq;
        Ok(doc! { FIELD: [mongodb::bson::to_bson(&entry)?], SEQ_FIELD: seq })
    }

    /// Adds to `update` (an update document of `$`-operators, with no `$push` or `$min` of
    /// its own) what enqueues `outgoing` in the same single-document update.
    pub fn push_into(update: &mut Document, outgoing: &Outgoing) -> mongodb::error::Result<()> {
        let entry = Entry::new(outgoing)?;
        let seq = entry.seq;
        update.insert("$push", doc! { FIELD: mongodb::bson::to_bson(&entry)? });
        // The oldest waiting event's seq stays when one is already waiting.
        update.insert("$min", doc! { SEQ_FIELD: seq });
        Ok(())
    }

    async fn embedded(&self, limit: usize) -> Result<Vec<(i64, Pending)>, OutboxError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut cursor = self
            .documents
            .find(doc! { SEQ_FIELD: { "$gt": 0 } })
            .projection(doc! { FIELD: 1 })
            .sort(doc! { SEQ_FIELD: 1, "_id": 1 })
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .await?;
        let mut out = Vec::new();
        while cursor.advance().await? {
            let holder = cursor.deserialize_current()?;
            for entry in holder.outbox {
                let id = format!("{}{SEPARATOR}{}", entry.id.to_hex(), holder.id);
                out.push((entry.seq, entry.into_pending(id)));
            }
        }
        // Each document's events are in order already; this puts the documents' together.
        out.sort_by_key(|(seq, _)| *seq);
        out.truncate(limit);
        Ok(out)
    }
}

#[async_trait]
impl Outbox for EmbeddedOutbox {
    /// Events enqueued on their own go to the outbox collection beside the documents.
    async fn enqueue_all(&self, outgoing: &[Outgoing]) -> Result<(), OutboxError> {
        self.beside.enqueue_all(outgoing).await
    }

    /// The collection's events first (enqueued on their own, or left by an older version),
    /// then the documents', oldest first. Within one document, always in the order written.
    async fn pending(&self, limit: usize) -> Result<Vec<Pending>, OutboxError> {
        let mut pending = self.beside.pending(limit).await?;
        let left = limit - pending.len().min(limit);
        pending.extend(self.embedded(left).await?.into_iter().map(|(_, p)| p));
        Ok(pending)
    }

    /// Two writes for the documents' entries, whatever their number: pull them, then clear
    /// `outbox_seq` where nothing waits any more.
    async fn sent(&self, ids: &[String]) -> Result<(), OutboxError> {
        let mut entries = Vec::new();
        let mut holders = BTreeSet::new();
        let mut beside = Vec::new();
        for id in ids {
            match id.split_once(SEPARATOR) {
                Some((entry, holder)) => {
                    let entry = ObjectId::parse_str(entry)
                        .map_err(|_| OutboxError::Unavailable(format!("no outbox entry {id:?}")))?;
                    entries.push(entry);
                    holders.insert(holder);
                }
                None => beside.push(id.clone()),
            }
        }
        if !beside.is_empty() {
            self.beside.sent(&beside).await?;
        }
        if entries.is_empty() {
            return Ok(());
        }
        let holders: Vec<Bson> = holders.into_iter().map(Bson::from).collect();
        self.documents
            .update_many(
                doc! { "_id": { "$in": &holders } },
                doc! { "$pull": { FIELD: { "_id": { "$in": entries } } } },
            )
            .await?;
        // A write that pushed meanwhile keeps its document's seq (older than its event's,
        // which only moves the document forward in the line).
        self.documents
            .update_many(
                doc! { "_id": { "$in": holders }, FIELD: { "$size": 0 } },
                doc! { "$unset": { SEQ_FIELD: "" } },
            )
            .await?;
        Ok(())
    }

    async fn backlog(&self) -> Result<u64, OutboxError> {
        let mut waiting = self.beside.backlog().await?;
        let mut cursor = self
            .documents
            .find(doc! { SEQ_FIELD: { "$gt": 0 } })
            .projection(doc! { FIELD: 1 })
            .await?;
        while cursor.advance().await? {
            waiting += cursor.deserialize_current()?.outbox.len() as u64;
        }
        Ok(waiting)
    }

    fn committed(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.beside.committed()
    }
}

impl EmbeddedOutbox {
    /// Wakes the relay: a document write that carried entries
    /// ([`Self::push_into`], [`Self::insert_fields`]) has been acknowledged.
    pub fn written(&self) {
        self.beside.written();
    }
}
