//! Deadlines across hops. A call's remaining time travels in gRPC's `grpc-timeout` header;
//! a service reads it from its incoming request and gives its own outgoing calls no more
//! than what is left, so a request never keeps working for a caller that has given up.

use std::time::Duration;

use tokio::time::Instant;
use tonic::metadata::MetadataMap;

/// The header gRPC carries the remaining time in.
pub const HEADER: &str = "grpc-timeout";

/// The time the caller gave this request, if it said.
pub fn incoming(metadata: &MetadataMap) -> Option<Duration> {
    parse(metadata.get(HEADER)?.to_str().ok()?)
}

/// When this request must be done: what the caller gave, but never more than `limit`.
pub fn derive(metadata: &MetadataMap, limit: Duration) -> Instant {
    let budget = incoming(metadata).map_or(limit, |d| d.min(limit));
    Instant::now() + budget
}

/// `grpc-timeout` text: up to eight digits and a unit (H, M, S, m, u, n).
fn parse(text: &str) -> Option<Duration> {
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// `d` as a `grpc-timeout` value, in milliseconds (rounded up, at least 1).
pub fn header_value(d: Duration) -> String {
    let ms = d.as_micros().div_ceil(1000).clamp(1, 99_999_999);
    format!("{ms}m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_parses_and_nonsense_does_not() {
        assert_eq!(parse("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("7u"), Some(Duration::from_micros(7)));
        assert_eq!(parse("9n"), Some(Duration::from_nanos(9)));
        for bad in ["", "m", "5", "5x", "123456789m", "-5m", "5.0S"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_derived_deadline_never_exceeds_the_callers_or_the_limit() {
        let mut metadata = MetadataMap::new();
        let limit = Duration::from_secs(5);
        let left = |m: &MetadataMap| derive(m, limit) - Instant::now();
        assert!(left(&metadata) <= limit, "no header: the limit");
        metadata.insert(HEADER, "800m".parse().unwrap());
        assert!(left(&metadata) <= Duration::from_millis(800));
        metadata.insert(HEADER, "1H".parse().unwrap());
        assert!(left(&metadata) <= limit);
        assert_eq!(header_value(Duration::from_micros(1500)), "2m");
        assert_eq!(
            parse(&header_value(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
    }
}
