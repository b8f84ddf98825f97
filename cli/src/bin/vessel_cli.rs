//! `vessel-cli`: create vessels from a JSON file, list them, find one for a spec.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Deserialize;
use serde_json::json;
use shippy_cli::conn::{ConnArgs, describe};
use shippy_cli::output;
use shippy_cli::paging::{PageArgs, say_more};
use shippy_common::names;
use shippy_proto::tonic::Code;
use shippy_proto::vessel::{self as pb, vessel_service_client::VesselServiceClient};

#[derive(Parser, Debug)]
#[command(name = "vessel-cli", about = "Create, list and find shippy vessels")]
struct Cli {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the vessels in a JSON file (one object or an array), e.g. samples/vessel.json
    Create { file: PathBuf },
    /// List the vessels, smallest first, a page at a time
    List {
        /// Only your own vessels
        #[arg(long)]
        mine: bool,
        /// Only vessels open for bookings
        #[arg(long)]
        available: bool,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Find the smallest available vessel for a spec
    Find {
        #[arg(long)]
        capacity: i32,
        #[arg(long)]
        max_weight: i32,
    },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<VesselFile>),
    One(VesselFile),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VesselFile {
    #[serde(default)]
    id: String,
    name: String,
    capacity: i32,
    max_weight: i32,
    #[serde(default = "yes")]
    available: bool,
    #[serde(default)]
    owner_id: String,
}

fn yes() -> bool {
    true
}

fn vessel_json(v: &pb::Vessel) -> serde_json::Value {
    json!({ "id": v.id, "name": v.name, "capacity": v.capacity, "max_weight": v.max_weight, "available": v.available, "owner_id": v.owner_id, "remaining_capacity": v.remaining_capacity, "remaining_weight": v.remaining_weight })
}

fn print(conn: &ConnArgs, vessels: &[pb::Vessel], next_page_token: &str) {
    if conn.json {
        let vessels: Vec<_> = vessels.iter().map(vessel_json).collect();
        output::json(&json!({ "vessels": vessels, "next_page_token": next_page_token }));
    } else {
        let rows = vessels
            .iter()
            .map(|v| {
                vec![
                    v.id.clone(),
                    v.name.clone(),
                    v.capacity.to_string(),
                    v.max_weight.to_string(),
                    v.available.to_string(),
                    v.remaining_capacity.to_string(),
                    v.remaining_weight.to_string(),
                ]
            })
            .collect::<Vec<_>>();
        output::table(
            &[
                "id",
                "name",
                "capacity",
                "max_weight",
                "available",
                "remaining_capacity",
                "remaining_weight",
            ],
            &rows,
        );
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut client = VesselServiceClient::new(cli.conn.channel(names::VESSEL).await?);
    match cli.command {
        Command::Create { file } => {
            let vessels = match output::read_json::<OneOrMany>(&file)? {
                OneOrMany::Many(v) => v,
                OneOrMany::One(v) => vec![v],
            };
            let mut created = Vec::new();
            for v in vessels {
                let message = pb::Vessel {
                    id: v.id,
                    capacity: v.capacity,
                    max_weight: v.max_weight,
                    name: v.name,
                    available: v.available,
                    owner_id: v.owner_id,
                    ..Default::default()
                };
                let name = message.name.clone();
                match client.create(cli.conn.authed(message)?).await {
                    Ok(response) => created.extend(response.into_inner().vessel),
                    // Re-running the tutorial (or the seeded vessel001) is not a failure.
                    Err(s) if s.code() == Code::AlreadyExists => {
                        eprintln!("skipped: {}", s.message())
                    }
                    Err(s) => anyhow::bail!("vessel {name:?}: {}", describe(&s)),
                }
            }
            print(&cli.conn, &created, "");
        }
        Command::List {
            mine,
            available,
            page,
        } => {
            let (vessels, next) = page
                .collect(|page_token| {
                    let request = pb::ListRequest {
                        page_size: page.page_size,
                        page_token,
                        mine,
                        only_available: available,
                    };
                    let (mut client, authed) = (client.clone(), cli.conn.authed(request));
                    async move {
                        let answer = client.list(authed?).await.map_err(|s| describe(&s))?;
                        let answer = answer.into_inner();
                        Ok((answer.vessels, answer.next_page_token))
                    }
                })
                .await?;
            print(&cli.conn, &vessels, &next);
            if !cli.conn.json {
                say_more(&next);
            }
        }
        Command::Find {
            capacity,
            max_weight,
        } => {
            let spec = pb::Specification {
                capacity,
                max_weight,
                ..Default::default()
            };
            let found = client
                .find_available(cli.conn.authed(spec)?)
                .await
                .map_err(|s| describe(&s))?
                .into_inner();
            print(&cli.conn, &found.vessel.into_iter().collect::<Vec<_>>(), "");
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
    fn the_shipped_sample_file_parses_as_three_vessels() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/vessel.json");
        match output::read_json::<OneOrMany>(&path).unwrap() {
            OneOrMany::Many(v) => assert_eq!(
                v.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
                ["vessel001", "vessel002", "vessel003"]
            ),
            OneOrMany::One(_) => panic!("expected an array"),
        }
        assert!(Cli::try_parse_from(["vessel-cli", "find", "--capacity", "3"]).is_err());
    }
}
