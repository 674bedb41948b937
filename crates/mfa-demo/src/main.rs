//! `mfa-demo`: serves the demo web app. See the crate README for what to click.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use mfa_core::SystemClock;
use mfa_demo::{App, AppOptions, DEFAULT_POLICY, StoreSpec, stderr_log};
use rand::RngExt as _;
use zeroize::Zeroizing;

/// A local web app showing every factor of the mfa workspace: sign up, security info, sign in
/// with the policy's required step, recovery, the sign-in log and the policy.
#[derive(Debug, Parser)]
#[command(name = "mfa-demo", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The site's origin as the browser sees it (the WebAuthn origin; RP id = its host).
    /// Default: http://localhost:<port>.
    #[arg(long, value_name = "URL")]
    origin: Option<String>,
    /// Where the records live: `sqlite:PATH` or `postgres://…`.
    #[arg(long, value_name = "SPEC", default_value = "sqlite:mfa-demo.sqlite", value_parser = StoreSpec::parse)]
    store: StoreSpec,
    /// Redis for the short-lived records (sessions, challenges, pending enrolments), with
    /// PostgreSQL.
    #[arg(long, value_name = "URL")]
    redis: Option<String>,
    /// The operator page's key (default: 20 random characters, printed at start-up).
    #[arg(long, value_name = "KEY")]
    operator_key: Option<String>,
    /// A native mfa-policy TOML file (default: the demo's policy.toml).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

/// 20 random characters from an alphabet without look-alikes.
fn random_operator_key() -> Zeroizing<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let key: String = (0..20)
        .map(|_| {
            let index = rng.random_range(0..ALPHABET.len());
            ALPHABET.get(index).map_or('a', |byte| char::from(*byte))
        })
        .collect();
    Zeroizing::new(key)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mfa-demo: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", args.listen))?;
    let port = listener
        .local_addr()
        .map_err(|error| format!("no local address: {error}"))?
        .port();
    let origin = args
        .origin
        .unwrap_or_else(|| format!("http://localhost:{port}"));
    let policy_source = match &args.policy {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?,
        None => DEFAULT_POLICY.to_owned(),
    };
    let operator_key = match args.operator_key {
        Some(key) => Zeroizing::new(key),
        None => {
            let key = random_operator_key();
            // Printed once for the person who started the demo (stdout, not the log).
            println!("operator key: {}", key.as_str());
            key
        }
    };
    let store_name = args.store.to_string();
    let app = App::new(AppOptions {
        store: args.store,
        redis: args.redis,
        origin: origin.clone(),
        operator_key,
        policy_source,
        clock: Arc::new(SystemClock),
        log: stderr_log(),
    })
    .await
    .map_err(|error| error.to_string())?;
    eprintln!("store: {store_name}");
    println!("mfa-demo listening on {origin}");
    mfa_demo::serve(listener, Arc::new(app))
        .await
        .map_err(|error| format!("server failed: {error}"))
}
