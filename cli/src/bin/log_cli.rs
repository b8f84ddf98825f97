//! `log-cli`: list your activity log.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;
use shippy_cli::conn::{ConnArgs, describe};
use shippy_cli::output;
use shippy_common::names;
use shippy_proto::log::{self as pb, log_service_client::LogServiceClient};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Parser, Debug)]
#[command(name = "log-cli", about = "List your shippy activity log")]
struct Cli {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Your events, newest first
    List {
        /// Only events from this service, e.g. shippy.consignment
        #[arg(long, default_value = "")]
        origin: String,
        /// Only events at or after this time (RFC 3339 or unix ms)
        #[arg(long, value_parser = parse_time)]
        since: Option<i64>,
        /// Only events before this time (RFC 3339 or unix ms)
        #[arg(long, value_parser = parse_time)]
        until: Option<i64>,
        /// At most this many (default 50, at most 1000)
        #[arg(long, default_value_t = 50)]
        limit: i32,
    },
}

/// Unix ms from `2026-11-21T12:00:00Z` or `1795000000000`.
fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let t =
        OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("not RFC 3339 or unix ms: {e}"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|e| e.to_string())
}

fn format_time(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut client = LogServiceClient::new(cli.conn.channel(names::LOG).await?);
    let Command::List {
        origin,
        since,
        until,
        limit,
    } = cli.command;
    let request = pb::ListRequest {
        user_id: String::new(),
        origin,
        since_unix_ms: since.unwrap_or(0),
        until_unix_ms: until.unwrap_or(0),
        limit,
    };
    let events = client
        .list(cli.conn.authed(request)?)
        .await
        .map_err(|s| describe(&s))?
        .into_inner()
        .events;
    if cli.conn.json {
        let list: Vec<_> = events
            .iter()
            .map(|e| json!({ "id": e.id, "origin": e.origin, "method": e.method, "message": e.message, "user_id": e.user_id, "time_unix_ms": e.time_unix_ms }))
            .collect();
        output::json(&json!({ "events": list }));
    } else {
        let rows = events
            .iter()
            .map(|e| {
                vec![
                    format_time(e.time_unix_ms),
                    e.origin.clone(),
                    e.method.clone(),
                    e.user_id.clone(),
                    e.message.clone(),
                ]
            })
            .collect::<Vec<_>>();
        output::table(&["time", "origin", "method", "user_id", "message"], &rows);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    output::finish(run(Cli::parse()).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_taken_as_rfc3339_or_unix_ms() {
        assert_eq!(parse_time("1000").unwrap(), 1000);
        assert_eq!(parse_time("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert!(parse_time("yesterday").is_err());
        assert_eq!(format_time(1000), "1970-01-01T00:00:01Z");
    }
}
