//! The user store on MongoDB: collection `users`, one plain document per user, a unique
//! index on `email`.

use std::sync::Arc;

use async_trait::async_trait;
use mongodb::bson::doc;
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use shippy_plugins::outbox::{MongoOutbox, Outbox, Outgoing};
use shippy_plugins::store::mongo::is_duplicate_key;

use shippy_common::paging::PageRequest;

use super::{RepoError, UserRepository};
use crate::domain::{StoredUser, User};

#[derive(Debug, Serialize, Deserialize)]
struct UserDoc {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    company: String,
    email: String,
    password_hash: String,
    created_at_ms: i64,
}

/// A [`UserRepository`] on MongoDB.
#[derive(Clone, Debug)]
pub struct MongoUsers {
    users: Collection<UserDoc>,
    outbox: MongoOutbox,
}

fn unavailable(e: mongodb::error::Error) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

fn to_domain(d: UserDoc) -> StoredUser {
    StoredUser {
        user: User {
            id: d.id,
            name: d.name,
            company: d.company,
            email: d.email,
        },
        password_hash: d.password_hash,
    }
}

impl MongoUsers {
    /// The `users` collection of `db`, with its indexes created.
    pub async fn open(db: &Database) -> Result<Self, RepoError> {
        let users = db.collection::<UserDoc>("users");
        let unique = IndexOptions::builder().unique(true).build();
        let email = IndexModel::builder()
            .keys(doc! { "email": 1 })
            .options(unique)
            .build();
        users.create_index(email).await.map_err(unavailable)?;
        let outbox = MongoOutbox::open(db, "users_outbox")
            .await
            .map_err(|e| RepoError::Unavailable(e.to_string()))?;
        Ok(Self { users, outbox })
    }

    async fn one(&self, filter: mongodb::bson::Document) -> Result<Option<StoredUser>, RepoError> {
        Ok(self
            .users
            .find_one(filter)
            .await
            .map_err(unavailable)?
            .map(to_domain))
    }
}

#[async_trait]
impl UserRepository for MongoUsers {
    async fn create(&self, user: &StoredUser, event: &Outgoing) -> Result<(), RepoError> {
        let u = &user.user;
        let document = UserDoc {
            id: u.id.clone(),
            name: u.name.clone(),
            company: u.company.clone(),
            email: u.email.clone(),
            password_hash: user.password_hash.clone(),
            created_at_ms: shippy_plugins::now_unix_ms(),
        };
        let inserted = self.outbox.insert_with(&self.users, document, event).await;
        inserted.map_err(|e| {
            if is_duplicate_key(&e) {
                RepoError::DuplicateEmail
            } else {
                unavailable(e)
            }
        })?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<StoredUser>, RepoError> {
        self.one(doc! { "_id": id }).await
    }

    async fn by_email(&self, email: &str) -> Result<Option<StoredUser>, RepoError> {
        self.one(doc! { "email": email }).await
    }

    async fn list(&self, page: &PageRequest<String>) -> Result<Vec<StoredUser>, RepoError> {
        let after = page.after.clone().unwrap_or_default();
        let mut cursor = self
            .users
            .find(doc! { "_id": { "$gt": after } })
            .sort(doc! { "_id": 1 })
            .limit(i64::try_from(page.fetch()).unwrap_or(i64::MAX))
            .await
            .map_err(unavailable)?;
        let mut out = Vec::new();
        while cursor.advance().await.map_err(unavailable)? {
            out.push(to_domain(
                cursor.deserialize_current().map_err(unavailable)?,
            ));
        }
        Ok(out)
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(self.outbox.clone())
    }
}
