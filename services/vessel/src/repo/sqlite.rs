//! The embedded vessel store: one SQLite file, indexed for the spec lookup, with the
//! reservations bookings hold and its outbox.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use shippy_plugins::outbox::{self, Outbox, Outgoing, SqliteOutbox};
use shippy_plugins::store::{SqliteDb, StoreError, migrate_if_missing};

use super::{ReleaseEvent, RepoError, VesselRepository};
use crate::domain::{
    Hold, Holder, Released, Reservation, Reserved, Specification, Vessel, VesselFilter, VesselKey,
};
use shippy_common::paging::PageRequest;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS vessels (
    id         TEXT PRIMARY KEY,
    capacity   INTEGER NOT NULL,
    max_weight INTEGER NOT NULL,
    name       TEXT NOT NULL,
    available  INTEGER NOT NULL,
    owner_id   TEXT NOT NULL,
    remaining_capacity INTEGER NOT NULL,
    remaining_weight   INTEGER NOT NULL,
    CHECK (remaining_capacity BETWEEN 0 AND capacity AND remaining_weight BETWEEN 0 AND max_weight)
);
DROP INDEX IF EXISTS vessels_by_room;
CREATE INDEX IF NOT EXISTS vessels_by_size ON vessels (available, capacity, max_weight, id);
CREATE INDEX IF NOT EXISTS vessels_in_order ON vessels (capacity, max_weight, id);
CREATE INDEX IF NOT EXISTS vessels_by_owner ON vessels (owner_id, capacity, max_weight, id);
CREATE TABLE IF NOT EXISTS reservations (
    consignment_id TEXT PRIMARY KEY,
    vessel_id      TEXT NOT NULL,
    capacity       INTEGER NOT NULL,
    weight         INTEGER NOT NULL,
    held           INTEGER NOT NULL,
    user_id        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS reservations_by_holder ON reservations (vessel_id, user_id)
    WHERE held = 1;";

const COLUMNS: &str =
    "id, capacity, max_weight, name, available, owner_id, remaining_capacity, remaining_weight";
const ORDER: &str = "ORDER BY capacity, max_weight, id";
/// The next capacity the search visits: the smallest at or above ?1 among available
/// vessels (a seek on `vessels_by_size`).
const NEXT_CAPACITY: &str =
    "SELECT min(capacity) FROM vessels WHERE available = 1 AND capacity >= ?1";
/// The lookup within one capacity (?5), after its `SELECT` list: the lightest vessel heavy
/// enough (?2) with the room left (?1 containers, ?2 kg), the index seeking the weight, so
/// no vessel lighter than asked is read. (?3 and ?4 are [`FIND_IN_WITHIN_SHARE`]'s, bound
/// and unused here, so one call binds either.)
const FIND_IN: &str = "FROM vessels v WHERE available = 1 AND capacity = ?5 AND max_weight >= ?2
    AND remaining_capacity >= ?1 AND remaining_weight >= ?2
    ORDER BY max_weight, id LIMIT 1";
/// As [`FIND_IN`], for a holder held to a share (?3 the user, ?4 the percentage): passing
/// over vessels not theirs on which they would hold more than the share.
const FIND_IN_WITHIN_SHARE: &str = "FROM vessels v WHERE available = 1 AND capacity = ?5
    AND max_weight >= ?2 AND remaining_capacity >= ?1 AND remaining_weight >= ?2
    AND (owner_id = ?3 OR (
        (SELECT coalesce(sum(r.capacity), 0) FROM reservations r
          WHERE r.vessel_id = v.id AND r.user_id = ?3 AND r.held = 1) + ?1 <= capacity * ?4 / 100
        AND (SELECT coalesce(sum(r.weight), 0) FROM reservations r
          WHERE r.vessel_id = v.id AND r.user_id = ?3 AND r.held = 1) + ?2 <= max_weight * ?4 / 100))
    ORDER BY max_weight, id LIMIT 1";
/// What one user holds on one vessel now: containers, weight.
const HELD_BY: &str = "SELECT coalesce(sum(capacity), 0), coalesce(sum(weight), 0)
    FROM reservations WHERE vessel_id = ?1 AND user_id = ?2 AND held = 1";

/// A [`VesselRepository`] on a SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteVessels {
    db: SqliteDb,
}

impl SqliteVessels {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        migrate(path)?;
        let db = SqliteDb::open(path, &format!("{SCHEMA}{}", outbox::sqlite::SCHEMA))?;
        Ok(Self { db })
    }
}

/// Gives a vessels table from before reservations its remaining room (all of it: bookings
/// made then held nothing).
pub fn migrate(path: &Path) -> rusqlite::Result<()> {
    let migration = "ALTER TABLE vessels ADD COLUMN remaining_capacity INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE vessels ADD COLUMN remaining_weight INTEGER NOT NULL DEFAULT 0;
         UPDATE vessels SET remaining_capacity = capacity, remaining_weight = max_weight;
         DROP INDEX IF EXISTS vessels_by_spec;";
    if migrate_if_missing(path, "vessels", "remaining_capacity", migration)? {
        tracing::info!("vessel store migrated: every vessel's room is now counted");
    }
    // Reservations from before shares name no holder: they count against no one's share.
    let holders = "ALTER TABLE reservations ADD COLUMN user_id TEXT NOT NULL DEFAULT '';";
    if migrate_if_missing(path, "reservations", "user_id", holders)? {
        tracing::info!("vessel store migrated: reservations name their holder");
    }
    Ok(())
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Vessel> {
    Ok(Vessel {
        id: r.get(0)?,
        capacity: r.get(1)?,
        max_weight: r.get(2)?,
        name: r.get(3)?,
        available: r.get(4)?,
        owner_id: r.get(5)?,
        remaining_capacity: r.get(6)?,
        remaining_weight: r.get(7)?,
    })
}

fn reservation_from_row(r: &Row<'_>) -> rusqlite::Result<Reservation> {
    Ok(Reservation {
        consignment_id: r.get(0)?,
        vessel_id: r.get(1)?,
        capacity: r.get(2)?,
        weight: r.get(3)?,
        held: r.get(4)?,
    })
}

/// Vessel `id` as `tx` sees it.
fn vessel_in(tx: &Transaction<'_>, id: &str) -> rusqlite::Result<Option<Vessel>> {
    tx.prepare_cached(&format!("SELECT {COLUMNS} FROM vessels WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

fn reservation_in(
    tx: &Transaction<'_>,
    consignment_id: &str,
) -> rusqlite::Result<Option<Reservation>> {
    tx.prepare_cached(
        "SELECT consignment_id, vessel_id, capacity, weight, held FROM reservations
         WHERE consignment_id = ?1",
    )?
    .query_row([consignment_id], reservation_from_row)
    .optional()
}

/// Stores `r`, held by `user_id` (empty for a release that came first).
fn insert_reservation(
    tx: &Transaction<'_>,
    r: &Reservation,
    user_id: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO reservations (consignment_id, vessel_id, capacity, weight, held, user_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        r.consignment_id,
        r.vessel_id,
        r.capacity,
        r.weight,
        r.held,
        user_id
    ])?;
    Ok(())
}

fn unavailable(e: StoreError) -> RepoError {
    RepoError::Unavailable(e.to_string())
}

#[async_trait]
impl VesselRepository for SqliteVessels {
    async fn create_within(
        &self,
        vessel: &Vessel,
        event: &Outgoing,
        most_owned: u64,
    ) -> Result<(), RepoError> {
        let (v, event) = (vessel.clone(), event.clone());
        let most = i64::try_from(most_owned).unwrap_or(i64::MAX);
        let stored = self
            .db
            .write(move |tx| {
                // The count and the insert in one write transaction: no other can come between.
                let owned: i64 = tx
                    .prepare_cached("SELECT count(*) FROM vessels WHERE owner_id = ?1")?
                    .query_row(params![v.owner_id], |r| r.get(0))?;
                if most > 0 && owned >= most {
                    return Ok(false);
                }
                tx.execute(
                    &format!(
                        "INSERT INTO vessels ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                    ),
                    params![
                        v.id,
                        v.capacity,
                        v.max_weight,
                        v.name,
                        v.available,
                        v.owner_id,
                        v.remaining_capacity,
                        v.remaining_weight
                    ],
                )?;
                outbox::sqlite::enqueue(tx, &event)?;
                Ok(true)
            })
            .await
            .map_err(|e| e.unique_or(RepoError::DuplicateId, unavailable))?;
        if stored {
            Ok(())
        } else {
            Err(RepoError::QuotaReached)
        }
    }

    /// Walks `vessels_by_size` capacity by capacity from the first big enough, smallest
    /// first, and within each seeks the first vessel heavy enough, to the first with the
    /// room left: a skip-scan by hand. One range walk over capacity and weight together read
    /// every vessel of each capacity lighter than asked (2,000 a capacity in a fleet of a
    /// million: 44x the cost of ten vessels, docs/performance.md); this reads two index
    /// entries a capacity visited, and a few full vessels. Held to a share, each candidate
    /// not the holder's also sums what they hold on it (an index lookup,
    /// `reservations_by_holder`).
    async fn find_available(
        &self,
        spec: Specification,
        holder: &Holder,
    ) -> Result<Option<Vessel>, RepoError> {
        let holder = holder.clone();
        let find = if holder.is_capped() {
            FIND_IN_WITHIN_SHARE
        } else {
            FIND_IN
        };
        self.db
            .read(move |c| {
                let percent = holder.share.as_percent();
                let mut from = spec.capacity;
                loop {
                    let next: Option<i32> = c
                        .prepare_cached(NEXT_CAPACITY)?
                        .query_row([from], |r| r.get(0))?;
                    let Some(capacity) = next else {
                        return Ok(None);
                    };
                    let found = c
                        .prepare_cached(&format!("SELECT {COLUMNS} {find}"))?
                        .query_row(
                            params![
                                spec.capacity,
                                spec.max_weight,
                                holder.user_id,
                                percent,
                                capacity
                            ],
                            from_row,
                        )
                        .optional()?;
                    match (found, capacity.checked_add(1)) {
                        (Some(vessel), _) => return Ok(Some(vessel)),
                        (None, Some(after)) => from = after,
                        (None, None) => return Ok(None),
                    }
                }
            })
            .await
            .map_err(unavailable)
    }

    async fn list(
        &self,
        filter: &VesselFilter,
        page: &PageRequest<VesselKey>,
    ) -> Result<Vec<Vessel>, RepoError> {
        let (filter, page) = (filter.clone(), page.clone());
        self.db
            .call(move |c| {
                // Only the conditions asked for, so each shape gets its index.
                let mut conditions = vec!["1"];
                if filter.only_available {
                    conditions.push("available = 1");
                }
                if filter.owner.is_some() {
                    conditions.push("owner_id = ?1");
                }
                if page.after.is_some() {
                    conditions.push("(capacity, max_weight, id) > (?2, ?3, ?4)");
                }
                let sql = format!(
                    "SELECT {COLUMNS} FROM vessels WHERE {} {ORDER} LIMIT ?5",
                    conditions.join(" AND ")
                );
                let mut stmt = c.prepare_cached(&sql)?;
                let (capacity, weight, id) = page.after.clone().unwrap_or_default();
                let limit = i64::try_from(page.fetch()).unwrap_or(i64::MAX);
                // ?5 is always there, so all five are bound; SQLite ignores the unused ones.
                let owner = filter.owner.unwrap_or_default();
                let rows = stmt.query_map(params![owner, capacity, weight, id, limit], from_row)?;
                rows.collect()
            })
            .await
            .map_err(unavailable)
    }

    async fn reserve(&self, hold: &Hold, event: &Outgoing) -> Result<Reserved, RepoError> {
        let (hold, event) = (hold.clone(), event.clone());
        self.db
            .write(move |tx| {
                if let Some(r) = reservation_in(tx, &hold.consignment_id)? {
                    return Ok(if r.held {
                        Reserved::AlreadyHeld(r)
                    } else {
                        Reserved::WasReleased(r)
                    });
                }
                // The share: counted in this write transaction, so no other hold of the same
                // user's can pass on the same count.
                let holder = hold.holder();
                if holder.is_capped() {
                    let Some(vessel) = vessel_in(tx, &hold.vessel_id)? else {
                        return Ok(Reserved::NoVessel);
                    };
                    if holder.is_capped_on(&vessel) {
                        let held = tx
                            .prepare_cached(HELD_BY)?
                            .query_row(params![vessel.id, holder.user_id], |r| {
                                Ok((r.get(0)?, r.get(1)?))
                            })?;
                        if !holder.may_take(&vessel, held, (hold.capacity, hold.weight)) {
                            return Ok(Reserved::OverShare(vessel, held));
                        }
                    }
                }
                // The guard: one conditional write takes the room only if it is there.
                let taken = tx
                    .prepare_cached(
                        "UPDATE vessels SET remaining_capacity = remaining_capacity - ?2,
                                        remaining_weight = remaining_weight - ?3
                     WHERE id = ?1 AND available = 1
                       AND remaining_capacity >= ?2 AND remaining_weight >= ?3",
                    )?
                    .execute(params![hold.vessel_id, hold.capacity, hold.weight])?;
                if taken == 0 {
                    let vessel = vessel_in(tx, &hold.vessel_id)?;
                    return Ok(vessel.map_or(Reserved::NoVessel, Reserved::NoRoom));
                }
                let made = hold.held();
                insert_reservation(tx, &made, &hold.user_id)?;
                outbox::sqlite::enqueue(tx, &event)?;
                Ok(Reserved::Made(made))
            })
            .await
            .map_err(unavailable)
    }

    async fn release(
        &self,
        consignment_id: &str,
        event: ReleaseEvent,
    ) -> Result<Released, RepoError> {
        let id = consignment_id.to_owned();
        self.db
            .write(move |tx| {
                let released = match reservation_in(tx, &id)? {
                    None => {
                        let tombstone = Reservation::released_unheld(&id);
                        insert_reservation(tx, &tombstone, "")?;
                        Released {
                            reservation: tombstone,
                            changed: false,
                        }
                    }
                    Some(r) if !r.held => Released {
                        reservation: r,
                        changed: false,
                    },
                    Some(r) => {
                        tx.prepare_cached(
                            "UPDATE vessels SET
                               remaining_capacity = min(capacity, remaining_capacity + ?2),
                               remaining_weight = min(max_weight, remaining_weight + ?3)
                             WHERE id = ?1",
                        )?
                        .execute(params![
                            r.vessel_id,
                            r.capacity,
                            r.weight
                        ])?;
                        tx.prepare_cached(
                            "UPDATE reservations SET held = 0 WHERE consignment_id = ?1",
                        )?
                        .execute([&id])?;
                        outbox::sqlite::enqueue(tx, &event(&r))?;
                        Released {
                            reservation: Reservation { held: false, ..r },
                            changed: true,
                        }
                    }
                };
                Ok(released)
            })
            .await
            .map_err(unavailable)
    }

    async fn reservation(&self, consignment_id: &str) -> Result<Option<Reservation>, RepoError> {
        let id = consignment_id.to_owned();
        self.db
            .call(move |c| {
                let tx = c.transaction()?;
                reservation_in(&tx, &id)
            })
            .await
            .map_err(unavailable)
    }

    fn outbox(&self) -> Arc<dyn Outbox> {
        Arc::new(SqliteOutbox::new(self.db.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of `sql` with `params`, one line a step.
    fn plan(sql: &str, params: impl rusqlite::Params) -> Vec<String> {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap()
            .query_map(params, |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// The lookup seeks `vessels_by_size`: the next capacity, then within it the first
    /// vessel heavy enough, in the order it answers: no vessel lighter than asked is read,
    /// and nothing is sorted, whatever the fleet's size.
    #[test]
    fn the_lookup_seeks_the_size_index_capacity_by_capacity_without_sorting() {
        let next = plan(NEXT_CAPACITY, [3]);
        assert!(
            next.iter()
                .any(|p| p.contains("INDEX vessels_by_size (available=? AND capacity>?)")),
            "{next:?}"
        );
        for find in [FIND_IN, FIND_IN_WITHIN_SHARE] {
            let within = plan(
                &format!("SELECT {COLUMNS} {find}"),
                params![3, 55_000, "alice", 50, 3],
            );
            assert!(
                within.iter().any(|p| p.contains(
                    "INDEX vessels_by_size (available=? AND capacity=? AND max_weight>?)"
                )),
                "{within:?}"
            );
            assert!(
                !within.iter().any(|p| p.contains("TEMP B-TREE")),
                "{within:?}"
            );
        }
    }
}
