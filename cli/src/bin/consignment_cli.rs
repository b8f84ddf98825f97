//! `consignment-cli`: book a consignment from a JSON file (with an idempotency key, so a
//! retry books once), list yours, show one with its booking steps, cancel one.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Deserialize;
use serde_json::json;
use shippy_cli::conn::{ConnArgs, describe};
use shippy_cli::output;
use shippy_cli::paging::{PageArgs, say_more};
use shippy_common::names;
use shippy_proto::consignment::{self as pb, shipping_service_client::ShippingServiceClient};
use shippy_proto::tonic::Code;

#[derive(Parser, Debug)]
#[command(name = "consignment-cli", about = "Book and list shippy consignments")]
struct Cli {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Book the consignment in a JSON file, e.g. samples/consignment.json
    Create {
        file: PathBuf,
        /// Retry an earlier attempt: the key it printed (a fresh one is made otherwise)
        #[arg(long, value_parser = idempotency_key)]
        idempotency_key: Option<String>,
    },
    /// List your consignments, newest first, a page at a time
    List {
        /// Only those in this state: pending, booked, rejecting, rejected, cancelling,
        /// cancelled, failing or failed
        #[arg(long, default_value = "")]
        status: String,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one of your consignments with its booking steps
    Get { id: String },
    /// Cancel one of your consignments and give its room on the vessel back
    Cancel { id: String },
}

/// A key the consignment service accepts: 1 to 128 visible ASCII characters.
fn idempotency_key(key: &str) -> Result<String, String> {
    if (1..=128).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(key.to_owned())
    } else {
        Err("must be 1 to 128 visible ASCII characters".into())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsignmentFile {
    description: String,
    weight: i32,
    #[serde(default)]
    containers: Vec<ContainerFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContainerFile {
    #[serde(default)]
    id: String,
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    origin: String,
    #[serde(default)]
    user_id: String,
}

fn consignment_json(c: &pb::Consignment) -> serde_json::Value {
    json!({
        "id": c.id, "description": c.description, "weight": c.weight, "vessel_id": c.vessel_id,
        "user_id": c.user_id, "status": c.status, "created_at": c.created_at, "reason": c.reason,
        "containers": c.containers.iter().map(|k| json!({ "id": k.id, "customer_id": k.customer_id, "origin": k.origin, "user_id": k.user_id })).collect::<Vec<_>>(),
        "steps": c.steps.iter().map(|s| json!({ "name": s.name, "at": s.at, "detail": s.detail })).collect::<Vec<_>>(),
    })
}

/// One consignment and its steps, as JSON or as a table with the steps below.
fn print_one(conn: &ConnArgs, c: &pb::Consignment) {
    if conn.json {
        output::json(&json!({ "consignment": consignment_json(c) }));
        return;
    }
    print(conn, std::slice::from_ref(c), "");
    if !c.reason.is_empty() {
        println!("reason: {}", c.reason);
    }
    let steps = c
        .steps
        .iter()
        .map(|s| vec![s.at.clone(), s.name.clone(), s.detail.clone()])
        .collect::<Vec<_>>();
    output::table(&["at", "step", "detail"], &steps);
}

fn print(conn: &ConnArgs, list: &[pb::Consignment], next_page_token: &str) {
    if conn.json {
        let list: Vec<_> = list.iter().map(consignment_json).collect();
        output::json(&json!({ "consignments": list, "next_page_token": next_page_token }));
    } else {
        let rows = list
            .iter()
            .map(|c| {
                vec![
                    c.id.clone(),
                    c.description.clone(),
                    c.weight.to_string(),
                    c.containers.len().to_string(),
                    c.vessel_id.clone(),
                    c.status.clone(),
                ]
            })
            .collect::<Vec<_>>();
        output::table(
            &[
                "id",
                "description",
                "weight",
                "containers",
                "vessel_id",
                "status",
            ],
            &rows,
        );
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut client = ShippingServiceClient::new(cli.conn.channel(names::CONSIGNMENT).await?);
    match cli.command {
        Command::Create {
            file,
            idempotency_key,
        } => {
            let f: ConsignmentFile = output::read_json(&file)?;
            let message = pb::Consignment {
                description: f.description,
                weight: f.weight,
                containers: f
                    .containers
                    .into_iter()
                    .map(|c| pb::Container {
                        id: c.id,
                        customer_id: c.customer_id,
                        origin: c.origin,
                        user_id: c.user_id,
                    })
                    .collect(),
                ..Default::default()
            };
            // One key per attempt: retrying with it (after a 503 or a lost answer) books once.
            let key = idempotency_key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            let mut request = cli.conn.authed(message)?;
            let value = key
                .parse()
                .map_err(|_| anyhow::anyhow!("--idempotency-key: visible ASCII characters only"))?;
            request.metadata_mut().insert("idempotency-key", value);
            let response = client
                .create_consignment(request)
                .await
                .map_err(|s| {
                    // Not refused, just not answered: the booking may be stored, so a retry
                    // must carry the same key to book it once.
                    let unanswered = [
                        Code::Unavailable,
                        Code::Unknown,
                        Code::DeadlineExceeded,
                        Code::Cancelled,
                    ];
                    if unanswered.contains(&s.code()) {
                        let hint = format!("; retry with --idempotency-key {key}");
                        anyhow::anyhow!("{}{hint}", describe(&s))
                    } else {
                        describe(&s)
                    }
                })?
                .into_inner();
            let booked = response.consignment.unwrap_or_default();
            if cli.conn.json {
                output::json(
                    &json!({ "created": response.created, "consignment": consignment_json(&booked) }),
                );
            } else {
                println!("created: {}", response.created);
                print(&cli.conn, &[booked], "");
            }
        }
        Command::List { status, page } => {
            let (list, next) = page
                .collect(|page_token| {
                    let request = pb::GetRequest {
                        page_size: page.page_size,
                        page_token,
                        status: status.clone(),
                    };
                    let (mut client, authed) = (client.clone(), cli.conn.authed(request));
                    async move {
                        let answer = client.get_consignments(authed?).await;
                        let answer = answer.map_err(|s| describe(&s))?.into_inner();
                        Ok((answer.consignments, answer.next_page_token))
                    }
                })
                .await?;
            print(&cli.conn, &list, &next);
            if !cli.conn.json {
                say_more(&next);
            }
        }
        Command::Get { id } => {
            let found = client
                .get_consignment(cli.conn.authed(pb::ConsignmentRef { id })?)
                .await
                .map_err(|s| describe(&s))?
                .into_inner();
            print_one(&cli.conn, &found.consignment.unwrap_or_default());
        }
        Command::Cancel { id } => {
            let cancelled = client
                .cancel_consignment(cli.conn.authed(pb::ConsignmentRef { id })?)
                .await
                .map_err(|s| describe(&s))?
                .into_inner();
            print_one(&cli.conn, &cancelled.consignment.unwrap_or_default());
        }
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
    fn the_shipped_sample_file_parses_with_three_containers() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/consignment.json");
        let f: ConsignmentFile = output::read_json(&path).unwrap();
        assert_eq!((f.weight, f.containers.len()), (55_000, 3));
        assert!(Cli::try_parse_from(["consignment-cli", "create"]).is_err());
    }

    #[test]
    fn a_retry_names_its_key_and_a_key_the_service_would_refuse_is_refused_here() {
        let cli = Cli::try_parse_from(["consignment-cli", "create", "c.json"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Create {
                idempotency_key: None,
                ..
            }
        ));
        let retry = ["consignment-cli", "create", "c.json", "--idempotency-key"];
        let cli = Cli::try_parse_from([&retry[..], &["k-1"]].concat()).unwrap();
        assert!(matches!(
            cli.command,
            Command::Create { idempotency_key: Some(k), .. } if k == "k-1"
        ));
        let long = "k".repeat(129);
        for bad in ["", "two words", long.as_str()] {
            let error = Cli::try_parse_from([&retry[..], &[bad]].concat()).unwrap_err();
            assert!(error.to_string().contains("--idempotency-key"), "{error}");
        }
    }

    #[test]
    fn get_and_cancel_take_one_consignment_id() {
        let cli = Cli::try_parse_from(["consignment-cli", "get", "c1"]).unwrap();
        assert!(matches!(cli.command, Command::Get { id } if id == "c1"));
        let cli = Cli::try_parse_from(["consignment-cli", "--json", "cancel", "c1"]).unwrap();
        assert!(cli.conn.json && matches!(cli.command, Command::Cancel { id } if id == "c1"));
        assert!(Cli::try_parse_from(["consignment-cli", "cancel"]).is_err());
    }
}
