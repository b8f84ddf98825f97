//! `shippy`: `init` prepares `.shippy/` (config and a fresh token key pair); `run` starts the
//! five services, waits until each is registered, prints where to go next, starts again any
//! that dies, and stops them all cleanly on Ctrl-C; `health` probes one service for container health checks;
//! `flags` lists and switches the fault flags; `load` runs the user journey as steady traffic.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use shippy_cli::launcher::{Launch, Logs, Running, wait_registered};
use shippy_cli::output;
use shippy_cli::supervise::{Supervised, supervise};
use shippy_common::config::{Config, Sources};
use shippy_common::{Service, auth};

#[derive(Parser, Debug)]
#[command(
    name = "shippy",
    about = "Prepare and run the shippy services on this machine"
)]
struct Cli {
    /// Config profile to run with, e.g. `compose`
    #[arg(long, global = true, env = "SHIPPY_PROFILE")]
    profile: Option<String>,
    /// Folder with default.toml and the profile files [default: ./config]
    #[arg(long, global = true, env = "SHIPPY_CONFIG_DIR")]
    config_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create .shippy/ with a config file and the key pairs: token, service, gateway (keeps what exists)
    Init,
    /// Start all five services and keep them running (one that dies is started again);
    /// Ctrl-C stops them
    Run {
        /// Run more than one instance of a service, e.g. `--scale vessel=2` (repeatable);
        /// the extra instances listen on free ports and register them
        #[arg(long, value_parser = parse_scale)]
        scale: Vec<(Service, usize)>,
    },
    /// Exit 0 when TARGET serves: `host:port` asks gRPC health, an `http://` URL wants a 2xx
    Health { target: String },
    /// List the fault flags (and how each stands), or switch one on or off; every service
    /// follows the flags file and picks a change up within a second
    Flags {
        #[command(subcommand)]
        action: Option<FlagsAction>,
    },
    /// Run the tutorial's user journey through the REST gateway as steady traffic, with
    /// progress, and a summary at the end
    Load(shippy_cli::load::LoadArgs),
    /// The token signing keys
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand, Debug)]
enum KeysAction {
    /// Roll a new token key pair in without logging anyone out: the current public key
    /// becomes the previous one (still accepted until its tokens expire), a new pair becomes
    /// current. Then restart the services: the verifiers before user-service, which signs
    /// with the new key once restarted
    Rotate,
}

#[derive(Subcommand, Debug)]
enum FlagsAction {
    /// Switch a fault on, e.g. `vessel.fail_rate=0.5` or `broker.refuse_publish=on`
    Set {
        /// FLAG=VALUE
        setting: String,
        /// Only on the instance serving at this address (as `shippy run` and the registry
        /// show it, e.g. 127.0.0.1:50052); everywhere when left out
        #[arg(long)]
        instance: Option<String>,
    },
    /// Switch a fault off, or every fault with --all
    Off {
        #[arg(required_unless_present = "all")]
        flag: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

fn flags(config: &Config, action: Option<FlagsAction>) -> anyhow::Result<()> {
    use shippy_cli::flags::{describe, parse_setting, read, table, write};
    use shippy_plugins::flags::{self as faults, flagd};
    let path = &config.faults.flags_file;
    if path.as_os_str().is_empty() {
        anyhow::bail!("no flags file is configured (faults.flags_file)");
    }
    let mut document = read(path)?;
    let changed: Vec<&str> = match action {
        None => {
            print!("{}", table(&document));
            println!(
                "
in {} (every service follows it)",
                path.display()
            );
            return Ok(());
        }
        Some(FlagsAction::Set { setting, instance }) => {
            let (flag, value) = parse_setting(&setting)?;
            flagd::set(
                &mut document,
                flag.key,
                flag.kind,
                value,
                instance.as_deref(),
            );
            vec![flag.key]
        }
        Some(FlagsAction::Off {
            flag: Some(key), ..
        }) => {
            let flag = faults::find(&key).with_context(|| {
                format!("{key:?} is not a fault flag; `shippy flags` lists them")
            })?;
            flagd::off(&mut document, flag.key);
            vec![flag.key]
        }
        Some(FlagsAction::Off { flag: None, .. }) => faults::known()
            .filter(|f| flagd::off(&mut document, f.key))
            .map(|f| f.key)
            .collect(),
    };
    write(path, &document)?;
    for key in changed {
        println!("{key}: {}", describe(&document, key));
    }
    println!(
        "written to {}; every service picks it up within a second",
        path.display()
    );
    Ok(())
}

async fn load(config: &Config, args: &shippy_cli::load::LoadArgs) -> anyhow::Result<()> {
    let api = match &args.api {
        Some(api) => api.clone(),
        None => format!("http://{}", config.services.api.listen),
    };
    shippy_cli::load::run(args, &api, shippy_common::shutdown::signal()).await?;
    Ok(())
}

const LOCAL_CONFIG: &str = "# Local overrides for this checkout, layered over config/default.toml.
# Written once by `make init`; edit freely (it is git-ignored).
#
# [auth]
# token_lifetime_secs = 3600
#
# [services.api]
# listen = \"0.0.0.0:8080\"
";

fn init(config: &Config) -> anyhow::Result<()> {
    let local = shippy_common::config::local_file();
    if !local.exists() {
        std::fs::create_dir_all(local.parent().unwrap_or(Path::new(".")))?;
        std::fs::write(&local, LOCAL_CONFIG)?;
        println!("wrote {}", local.display());
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let auth = &config.auth;
    for (what, private, public) in [
        ("token", &auth.private_key, &auth.public_key),
        (
            "service",
            &auth.service_private_key,
            &auth.service_public_key,
        ),
        (
            "gateway",
            &auth.gateway_private_key,
            &auth.gateway_public_key,
        ),
    ] {
        match (private.exists(), public.exists()) {
            (true, true) => println!(
                "{what} keys present in {}",
                private.parent().unwrap_or(Path::new(".")).display()
            ),
            (false, false) => {
                auth::write_key_pair(&auth::generate_key_pair()?, private, public)?;
                println!(
                    "generated a fresh Ed25519 {what} key pair: {} (owner-only), {}",
                    private.display(),
                    public.display()
                );
            }
            (has_private, _) => anyhow::bail!(half_a_pair(what, private, public, has_private)),
        }
    }
    Ok(())
}

/// `shippy keys rotate`: the current public key becomes the previous one, a fresh pair the
/// current one, endorsed by the retiring private key (`auth.key_endorsement`), which is then
/// deleted (nothing signs with it again). A key that
/// was previous before is dropped: its tokens are logged out if any are still live, so rotate
/// at most once per token lifetime (`auth.token_lifetime_secs`).
fn rotate(config: &Config) -> anyhow::Result<()> {
    let auth = &config.auth;
    let (private, public, previous) = (
        &auth.private_key,
        &auth.public_key,
        &auth.previous_public_key,
    );
    if !(private.exists() && public.exists()) {
        anyhow::bail!(
            "no token key pair at {} and {} to rotate: run `shippy init` first",
            private.display(),
            public.display()
        );
    }
    let retired = std::fs::read_to_string(public)?;
    let retired_id = auth::key_id(&retired)?;
    // Make the new pair beside the old, then move each into place.
    let staged = |path: &Path| {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".new");
        path.with_file_name(name)
    };
    let (new_private, new_public) = (staged(private), staged(public));
    let _ = std::fs::remove_file(&new_private);
    let _ = std::fs::remove_file(&new_public);
    auth::write_key_pair(&auth::generate_key_pair()?, &new_private, &new_public)?;
    // The previous key first, so that no moment has a current key whose predecessor is lost.
    let mut staged_previous = previous.as_os_str().to_owned();
    staged_previous.push(".new");
    let staged_previous = std::path::PathBuf::from(staged_previous);
    if let Some(dir) = previous.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&staged_previous, &retired)?;
    // The retiring key vouches for the new one, so services trust it without a restart.
    let endorsement = auth::rotation::Endorsement::sign(
        &std::fs::read_to_string(private)?,
        &std::fs::read_to_string(&new_public)?,
    )?;
    let endorsed = &auth.key_endorsement;
    let mut staged_endorsement = endorsed.as_os_str().to_owned();
    staged_endorsement.push(".new");
    let staged_endorsement = std::path::PathBuf::from(staged_endorsement);
    std::fs::write(
        &staged_endorsement,
        serde_json::to_vec_pretty(&endorsement)?,
    )?;
    std::fs::rename(&staged_previous, previous)?;
    std::fs::rename(&new_public, public)?;
    std::fs::rename(&staged_endorsement, endorsed)?;
    std::fs::rename(&new_private, private)?;
    let current_id = auth::key_id(&std::fs::read_to_string(public)?)?;
    println!(
        "rotated the token key: {current_id} signs from now on, once user-service restarts \
         (restart only user-service: the others learn the new key from it, endorsed by the \
         old one); {retired_id} stays accepted until its tokens expire."
    );
    Ok(())
}

/// Why `shippy init` stops when one half of a key pair is there: a new pair would end every
/// session (or every booking saga's calls) signed with the old one, so it is the operator's
/// call, and the message says how to make it.
fn half_a_pair(what: &str, private: &Path, public: &Path, has_private: bool) -> String {
    let (there, missing) = if has_private {
        (private, public)
    } else {
        (public, private)
    };
    format!(
        "the {what} key pair is half there: {} exists but {} does not. Making a new pair would \
         end everything signed with the old one. Restore {} from your backup; or, to start over \
         with a new pair, remove {} and run `shippy init` again",
        there.display(),
        missing.display(),
        missing.display(),
        there.display()
    )
}

/// `vessel=2` → (`Service::Vessel`, 2).
fn parse_scale(text: &str) -> Result<(Service, usize), String> {
    let (name, n) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected SERVICE=COUNT, e.g. vessel=2"))?;
    let service: Service = name.parse().map_err(|e| format!("{e}"))?;
    let n: usize = n
        .parse()
        .ok()
        .filter(|n| (1..=8).contains(n))
        .ok_or_else(|| format!("{n:?}: the count must be 1 to 8"))?;
    Ok((service, n))
}

async fn run(config: Config, sources: &Sources, scale: &[(Service, usize)]) -> anyhow::Result<()> {
    for key in [
        &config.auth.private_key,
        &config.auth.service_private_key,
        &config.auth.gateway_private_key,
    ] {
        if !key.exists() {
            anyhow::bail!("no key at {}: run `make init` first", key.display());
        }
    }
    let bin_dir = std::env::current_exe()?
        .parent()
        .map(PathBuf::from)
        .context("no binary folder")?;
    // The services load the config this process loaded.
    let mut args = Vec::new();
    if let Some(profile) = &sources.profile {
        args.extend(["--profile".to_owned(), profile.clone()]);
    }
    if let Some(dir) = &sources.config_dir {
        args.extend(["--config-dir".to_owned(), dir.display().to_string()]);
    }
    let launch = Launch {
        bin_dir,
        cwd: std::env::current_dir()?,
        envs: vec![],
        args,
        logs: Logs::Prefixed,
    };
    let registry = shippy_common::wiring::registry(&config).await?;
    let mut extra = launch.clone();
    extra
        .args
        .extend(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"].map(String::from));
    // Caught from here on: a stop asked for while the services start is honoured once they
    // are up, and stops them all.
    let stop = shippy_common::shutdown::signal();
    let mut running: Vec<Running> = Vec::new();
    let mut launches: Vec<Launch> = Vec::new();
    for service in Service::ALL {
        running.push(launch.spawn(service)?);
        launches.push(launch.clone());
        let count = scale
            .iter()
            .find(|(s, _)| *s == service)
            .map_or(1, |(_, n)| *n);
        for _ in 1..count {
            running.push(extra.spawn(service)?);
            launches.push(extra.clone());
        }
    }
    let started = tokio::time::Instant::now();
    let ready = wait_registered(registry.as_ref(), &mut running, Duration::from_secs(30)).await;
    if let Err(error) = ready {
        stop_all(running, config.shutdown_grace_secs).await;
        return Err(error);
    }
    let api = config.services.api.listen;
    println!(
        "\nshippy is up: all five services ({} processes) registered in {:.2?}.\n\n  Web UI:   http://{api}/\n  REST API: http://{api}/api/v1  (docs: http://{api}/docs.html)\n\n\
         Next, in another terminal (from this folder):\n\
         \x20 user-cli create --name 'Ewan Valentine' --email ewan@example.com --company BBC --password Testing123\n\
         \x20 eval $(user-cli auth --email ewan@example.com --password Testing123 | grep ^export)\n\
         \x20 vessel-cli create samples/vessel.json\n\
         \x20 consignment-cli create samples/consignment.json\n\
         \x20 consignment-cli list\n\
         \x20 log-cli list\n\
         (the CLIs are in target/release; `export PATH=$PWD/target/release:$PATH`)\n\nA service that dies is started again. Ctrl-C stops everything.",
        running.len(),
        started.elapsed()
    );
    let supervised = launches
        .into_iter()
        .zip(running)
        .map(|(launch, running)| Supervised::new(launch, running))
        .collect();
    // A service that dies is started again; only Ctrl-C stops them all.
    let running = supervise(supervised, stop).await;
    stop_all(running, config.shutdown_grace_secs).await;
    Ok(())
}

async fn stop_all(running: Vec<Running>, grace_secs: u64) {
    let grace = Duration::from_secs(grace_secs + 2);
    let stops = running.into_iter().rev().map(|r| async move {
        let name = r.service.name();
        match r.stop(grace).await {
            Ok(status) => println!("{name} stopped ({status})"),
            Err(error) => eprintln!("{name}: {error}"),
        }
    });
    for stop in stops {
        stop.await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let sources = Sources {
        config_dir: cli.config_dir.clone(),
        profile: cli.profile.clone(),
        overrides: vec![],
    };
    if let Command::Health { target } = &cli.command {
        return output::finish(shippy_cli::health::probe(target).await);
    }
    let result = async {
        let config = Config::load(&sources)?;
        match cli.command {
            Command::Init => init(&config),
            Command::Run { scale } => run(config, &sources, &scale).await,
            Command::Health { .. } => unreachable!("answered above"),
            Command::Flags { action } => flags(&config, action),
            Command::Load(args) => load(&config, &args).await,
            Command::Keys {
                action: KeysAction::Rotate,
            } => rotate(&config),
        }
    };
    output::finish(result.await)
}
