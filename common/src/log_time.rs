//! The log lines' timestamps: the same RFC 3339 UTC form as `tracing-subscriber`'s own
//! (`2026-12-03T11:30:24.123456Z`), with the date and the time of day worked out once a
//! second per thread and only the microseconds written at every line. Working out the
//! calendar date at every line took 1.8 % of vessel-service's CPU under the hop, the stamp
//! takes 0.6 % now (docs/performance.md).

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// The timer of the services' log lines; see the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub struct LineTime;

impl FormatTime for LineTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        w.write_str(stamp(since_epoch).as_str())
    }
}

/// `YYYY-MM-DDTHH:MM:SS.` of one second.
type Prefix = [u8; 20];

thread_local! {
    /// The last second this thread stamped, and its prefix.
    static SECOND: Cell<(u64, Prefix)> = const { Cell::new((u64::MAX, [0; 20])) };
}

/// One timestamp, 27 ASCII bytes.
struct Stamp([u8; 27]);

impl Stamp {
    fn as_str(&self) -> &str {
        // Only ASCII digits and `-T:.Z` are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

fn stamp(since_epoch: Duration) -> Stamp {
    let secs = since_epoch.as_secs();
    let prefix = SECOND.with(|second| {
        let (cached, prefix) = second.get();
        if cached == secs {
            return prefix;
        }
        let prefix = prefix_of(secs);
        second.set((secs, prefix));
        prefix
    });
    let mut out = [0; 27];
    out[..20].copy_from_slice(&prefix);
    digits(&mut out[20..26], since_epoch.subsec_micros());
    out[26] = b'Z';
    Stamp(out)
}

/// The prefix of the second `secs` after the epoch, from the `time` crate's calendar.
fn prefix_of(secs: u64) -> Prefix {
    let at = i64::try_from(secs)
        .ok()
        .and_then(|secs| time::OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut out = *b"0000-00-00T00:00:00.";
    digits(&mut out[0..4], u32::try_from(at.year()).unwrap_or_default());
    digits(&mut out[5..7], u8::from(at.month()).into());
    digits(&mut out[8..10], at.day().into());
    digits(&mut out[11..13], at.hour().into());
    digits(&mut out[14..16], at.minute().into());
    digits(&mut out[17..19], at.second().into());
    out
}

/// Writes `value`'s last `into.len()` decimal digits, zero-padded.
fn digits(into: &mut [u8], mut value: u32) {
    for digit in into.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, micros: u64) -> String {
        stamp(Duration::from_secs(secs) + Duration::from_micros(micros))
            .as_str()
            .to_owned()
    }

    #[test]
    fn stamps_read_as_rfc_3339_in_utc_across_leap_days_and_centuries() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 7), "2000-02-29T00:00:00.000007Z");
        assert_eq!(at(4_107_542_399, 999_999), "2100-02-28T23:59:59.999999Z");
        assert_eq!(at(1_796_290_224, 123_456), "2026-12-03T09:30:24.123456Z");
        assert_eq!(at(253_402_300_799, 0), "9999-12-31T23:59:59.000000Z");
    }

    #[test]
    fn a_new_second_on_the_same_thread_gets_its_own_prefix() {
        let first = stamp(Duration::from_millis(1_700_000_000_999));
        let next = stamp(Duration::from_millis(1_700_000_001_000));
        assert_eq!(first.as_str(), "2023-11-14T22:13:20.999000Z");
        assert_eq!(next.as_str(), "2023-11-14T22:13:21.000000Z");
    }
}
