//! `consignment-cli`: book a consignment from a JSON file, list yours.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Deserialize;
use serde_json::json;
use shippy_cli::conn::{ConnArgs, describe};
use shippy_cli::output;
use shippy_common::names;
use shippy_proto::consignment::{self as pb, shipping_service_client::ShippingServiceClient};

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
    Create { file: PathBuf },
    /// List your consignments, newest first
    List,
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
        "user_id": c.user_id, "status": c.status, "created_at": c.created_at,
        "containers": c.containers.iter().map(|k| json!({ "id": k.id, "customer_id": k.customer_id, "origin": k.origin, "user_id": k.user_id })).collect::<Vec<_>>(),
    })
}

fn print(conn: &ConnArgs, list: &[pb::Consignment]) {
    if conn.json {
        output::json(
            &json!({ "consignments": list.iter().map(consignment_json).collect::<Vec<_>>() }),
        );
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
        Command::Create { file } => {
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
            let response = client
                .create_consignment(cli.conn.authed(message)?)
                .await
                .map_err(|s| describe(&s))?
                .into_inner();
            let booked = response.consignment.unwrap_or_default();
            if cli.conn.json {
                output::json(
                    &json!({ "created": response.created, "consignment": consignment_json(&booked) }),
                );
            } else {
                println!("created: {}", response.created);
                print(&cli.conn, &[booked]);
            }
        }
        Command::List => {
            let list = client
                .get_consignments(cli.conn.authed(pb::GetRequest {})?)
                .await
                .map_err(|s| describe(&s))?
                .into_inner()
                .consignments;
            print(&cli.conn, &list);
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
}
