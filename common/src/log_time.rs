//! The log lines' timestamps: the same RFC 3339 UTC form as `tracing-subscriber`'s own
//! (`2026-12-03T11:30:24.123456Z`), with the date and the time of day worked out once a
//! second per thread and only the microseconds written at every line. Working out the
//! calendar date at every line took 1.8 % of vessel-service's CPU under the hop, the stamp
//! takes 0.6 % now (README, "Performance").

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

/// The prefix of the second `secs` after the epoch.
fn prefix_of(secs: u64) -> Prefix {
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let in_day = u32::try_from(secs % 86_400).unwrap_or_default();
    let (year, month, day) = civil_date(days);
    let mut out = *b"0000-00-00T00:00:00.";
    digits(
        &mut out[0..4],
        u32::try_from(year).unwrap_or(9999).min(9999),
    );
    digits(&mut out[5..7], month);
    digits(&mut out[8..10], day);
    digits(&mut out[11..13], in_day / 3600);
    digits(&mut out[14..16], in_day / 60 % 60);
    digits(&mut out[17..19], in_day % 60);
    out
}

/// Writes `value`'s last `into.len()` decimal digits, zero-padded.
fn digits(into: &mut [u8], mut value: u32) {
    for digit in into.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Year, month (1-12) and day (1-31) of the day `days` after 1970-01-01, in the proleptic
/// Gregorian calendar (Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `tracing-subscriber` writes for the instant (its `DateTime` display), from the
    /// `time` crate's calendar.
    fn expected(secs: u64, micros: u32) -> String {
        let t = time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            micros
        )
    }

    #[test]
    fn stamps_read_as_the_calendar_says_across_leap_days_and_centuries() {
        let days = [
            0,         // 1970-01-01
            11_016,    // 2000-02-29
            11_017,    // 2000-03-01
            19_722,    // 2023-12-31
            20_790,    // 2026-12-03
            47_540,    // 2100-02-28
            47_541,    // 2100-03-01 (no leap day in 2100)
            2_932_896, // 9999-12-31
        ];
        for day in days {
            for secs_in_day in [0, 1, 59, 3_599, 43_210, 86_399] {
                let secs = day * 86_400 + secs_in_day;
                for micros in [0, 7, 123_456, 999_999] {
                    let at = Duration::from_secs(secs) + Duration::from_micros(u64::from(micros));
                    assert_eq!(
                        stamp(at).as_str(),
                        expected(secs, micros),
                        "{secs} s {micros} µs"
                    );
                }
            }
        }
    }

    #[test]
    fn every_day_of_four_centuries_has_its_own_date() {
        for day in 0..146_097 * 4 {
            let secs = day * 86_400 + 12_345;
            assert_eq!(
                stamp(Duration::from_secs(secs)).as_str(),
                expected(secs, 0),
                "day {day}"
            );
        }
    }

    #[test]
    fn a_new_second_on_the_same_thread_gets_its_own_prefix() {
        let first = stamp(Duration::from_millis(1_700_000_000_999));
        let next = stamp(Duration::from_millis(1_700_000_001_000));
        assert_eq!(first.as_str(), "2023-11-14T22:13:20.999000Z");
        assert_eq!(next.as_str(), "2023-11-14T22:13:21.000000Z");
    }
}
