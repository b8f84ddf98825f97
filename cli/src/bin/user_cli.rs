//! `user-cli`: sign up, log in, list users, log out.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;
use shippy_cli::conn::{ConnArgs, describe};
use shippy_cli::output;
use shippy_common::names;
use shippy_proto::user::{self as pb, user_service_client::UserServiceClient};

#[derive(Parser, Debug)]
#[command(
    name = "user-cli",
    about = "Sign up, log in, list shippy users and log out"
)]
struct Cli {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a user
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        company: String,
        #[arg(long)]
        password: String,
    },
    /// Log in: prints the token and the line that exports it
    Auth {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
    },
    /// Show the user the token belongs to (needs a token); other users' details are private
    Me,
    /// Log out: revoke the token (SHIPPY_TOKEN or --token) on every service
    Logout,
}

fn user_json(u: &pb::User) -> serde_json::Value {
    json!({ "id": u.id, "name": u.name, "company": u.company, "email": u.email })
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut client = UserServiceClient::new(cli.conn.channel(names::USER).await?);
    match cli.command {
        Command::Create {
            name,
            email,
            company,
            password,
        } => {
            let request = pb::User {
                id: String::new(),
                name,
                company,
                email,
                password,
            };
            let user = client
                .create(request)
                .await
                .map_err(|s| describe(&s))?
                .into_inner()
                .user
                .unwrap_or_default();
            if cli.conn.json {
                output::json(&json!({ "user": user_json(&user) }));
            } else {
                println!(
                    "created user {} <{}> with id {}",
                    user.name, user.email, user.id
                );
            }
        }
        Command::Auth { email, password } => {
            let request = pb::User {
                email,
                password,
                ..Default::default()
            };
            let token = client
                .auth(request)
                .await
                .map_err(|s| describe(&s))?
                .into_inner();
            if cli.conn.json {
                output::json(
                    &json!({ "token": token.token, "user_id": token.user_id, "expires_at": token.expires_at }),
                );
            } else {
                println!("{}", token.token);
                println!();
                println!("export SHIPPY_TOKEN={}", token.token);
            }
        }
        Command::Logout => {
            let answer = client
                .logout(cli.conn.authed(pb::Token::default())?)
                .await
                .map_err(|s| describe(&s))?
                .into_inner();
            if cli.conn.json {
                output::json(&json!({ "logged_out": true, "user_id": answer.user_id }));
            } else {
                println!("logged out: the token no longer works on any service");
                println!();
                println!("unset SHIPPY_TOKEN");
            }
        }
        Command::Me => {
            let me = client
                .get(cli.conn.authed(pb::User::default())?)
                .await
                .map_err(|s| describe(&s))?
                .into_inner()
                .user
                .unwrap_or_default();
            if cli.conn.json {
                output::json(&json!({ "user": user_json(&me) }));
            } else {
                let row = vec![
                    me.id.clone(),
                    me.name.clone(),
                    me.email.clone(),
                    me.company.clone(),
                ];
                output::table(&["id", "name", "email", "company"], &[row]);
            }
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
    fn create_takes_the_tutorial_flags_and_auth_needs_a_password() {
        let cli = Cli::try_parse_from([
            "user-cli",
            "create",
            "--name",
            "Ewan",
            "--email",
            "e@x.io",
            "--company",
            "BBC",
            "--password",
            "Testing123",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Create { ref company, .. } if company == "BBC"));
        assert!(Cli::try_parse_from(["user-cli", "auth", "--email", "e@x.io"]).is_err());
        assert!(
            Cli::try_parse_from(["user-cli", "me", "--json"])
                .unwrap()
                .conn
                .json
        );
        assert!(
            Cli::try_parse_from(["user-cli", "list"]).is_err(),
            "no list of every user: other users' details are private"
        );
    }
}
