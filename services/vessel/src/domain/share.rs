//! Shares: the most of one vessel a user who does not own it may hold, so that no shipper
//! books away the whole fleet (`limits.vessel_share_percent`). A vessel's owner may fill
//! their own vessel; the system's own calls (no user) are not held to a share.

use super::Vessel;

/// A percentage of a vessel's containers and weight; 100 holds nobody back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share(u32);

impl Share {
    /// The whole vessel: no cap.
    pub const WHOLE: Share = Share(100);

    /// `percent` of a vessel (at least 1, at most 100).
    pub fn percent(percent: u32) -> Self {
        Self(percent.clamp(1, 100))
    }

    pub fn as_percent(self) -> u32 {
        self.0
    }

    /// The most of `whole` this share is (rounded down).
    pub fn of(self, whole: i32) -> i32 {
        i32::try_from(i64::from(whole) * i64::from(self.0) / 100).unwrap_or(whole)
    }
}

impl Default for Share {
    fn default() -> Self {
        Self::WHOLE
    }
}

/// Who asks for room, and the share of a vessel that is not theirs they may hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holder {
    /// Empty: the system itself, held to no share.
    pub user_id: String,
    pub share: Share,
}

impl Holder {
    pub fn new(user_id: &str, share: Share) -> Self {
        Self {
            user_id: user_id.to_owned(),
            share,
        }
    }

    /// Whether this holder is held to a share of vessels not theirs at all: not the system,
    /// nor under a whole share. Stores skip every count when not.
    pub fn is_capped(&self) -> bool {
        self.share != Share::WHOLE && !self.user_id.is_empty()
    }

    /// Whether this holder's room on `vessel` is capped: [`Self::is_capped`], and not its
    /// owner.
    pub fn is_capped_on(&self, vessel: &Vessel) -> bool {
        self.is_capped() && vessel.owner_id != self.user_id
    }

    /// Whether, holding `held` (containers, weight) on `vessel` already, this holder may take
    /// `more` too.
    pub fn may_take(&self, vessel: &Vessel, held: (i32, i32), more: (i32, i32)) -> bool {
        !self.is_capped_on(vessel)
            || (i64::from(held.0) + i64::from(more.0) <= i64::from(self.share.of(vessel.capacity))
                && i64::from(held.1) + i64::from(more.1)
                    <= i64::from(self.share.of(vessel.max_weight)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vessel(owner: &str) -> Vessel {
        Vessel {
            owner_id: owner.to_owned(),
            ..super::super::seed_vessel()
        }
    }

    #[test]
    fn a_user_holds_at_most_their_share_of_a_vessel_they_do_not_own() {
        let half = Holder::new("alice", Share::percent(50));
        let v = vessel("bob");
        assert_eq!((v.capacity, v.max_weight), (500, 200_000));
        assert!(half.may_take(&v, (0, 0), (250, 100_000)));
        assert!(half.may_take(&v, (200, 50_000), (50, 50_000)));
        assert!(!half.may_take(&v, (200, 50_000), (51, 1)), "containers");
        assert!(!half.may_take(&v, (0, 100_000), (1, 1)), "weight");
    }

    #[test]
    fn an_owner_the_system_and_a_whole_share_are_not_capped() {
        let v = vessel("alice");
        assert!(Holder::new("alice", Share::percent(10)).may_take(&v, (500, 0), (0, 200_000)));
        assert!(Holder::new("", Share::percent(10)).may_take(&v, (0, 0), (500, 200_000)));
        assert!(Holder::new("bob", Share::WHOLE).may_take(&v, (0, 0), (500, 200_000)));
        assert!(!Holder::new("bob", Share::percent(99)).may_take(&v, (0, 0), (500, 1)));
        assert_eq!(Share::percent(0), Share::percent(1), "at least 1 %");
        assert_eq!(Share::percent(250), Share::WHOLE);
    }
}
