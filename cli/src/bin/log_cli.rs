//! `log-cli`: list your activity log.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;
use shippy_cli::conn::{ConnArgs, describe};
use shippy_cli::output;
use shippy_cli::paging::{PageArgs, say_more};
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
        #[command(flatten)]
        page: PageArgs,
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
    let client = LogServiceClient::new(cli.conn.channel(names::LOG).await?);
    let Command::List {
        origin,
        since,
        until,
        page,
    } = cli.command;
    let (events, next) = page
        .collect(|page_token| {
            let request = pb::ListRequest {
                user_id: String::new(),
                origin: origin.clone(),
                since_unix_ms: since.unwrap_or(0),
                until_unix_ms: until.unwrap_or(0),
                limit: 0,
                page_size: page.page_size,
                page_token,
            };
            let (mut client, authed) = (client.clone(), cli.conn.authed(request));
            async move {
                let answer = client.list(authed?).await.map_err(|s| describe(&s))?;
                let answer = answer.into_inner();
                Ok((answer.events, answer.next_page_token))
            }
        })
        .await?;
    if cli.conn.json {
        let list: Vec<_> = events
            .iter()
            .map(|e| json!({ "id": e.id, "origin": e.origin, "method": e.method, "message": e.message, "user_id": e.user_id, "time_unix_ms": e.time_unix_ms }))
            .collect();
        output::json(&json!({ "events": list, "next_page_token": next }));
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
        say_more(&next);
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
