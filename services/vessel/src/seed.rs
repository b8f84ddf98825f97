//! Seeding: the tutorial's `vessel001` goes into every new store, with its event.

use shippy_common::events::Events;

use shippy_common::paging::PageRequest;

use crate::domain::{VesselFilter, seed_vessel};
use crate::repo::{RepoError, VesselRepository};

/// Stores [`seed_vessel`] when the store is empty. Two instances racing both succeed.
pub async fn seed(repo: &dyn VesselRepository, events: &Events) -> Result<(), RepoError> {
    let any = PageRequest::first(1);
    if repo.list(&VesselFilter::default(), &any).await?.is_empty() {
        let v = seed_vessel();
        // The system's own event: no user caused it. The vessel's first.
        let event = events.outgoing(crate::events::created(&v, true), 1, "");
        match repo.create(&v, &event).await {
            Ok(()) => tracing::info!("seeded vessel001"),
            Err(RepoError::DuplicateId) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
