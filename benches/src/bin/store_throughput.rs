//! Redeems per second and latency of the durable store backends under concurrency:
//!
//! - **distinct**: every worker redeems its own record over and over (load, compare-and-swap;
//!   the scaling case: sign-ins of different users);
//! - **one record**: every worker redeems the same record (a hot throttle counter, one code
//!   replayed everywhere): compare-and-swap conflicts, and [`mfa_core::update`] tries again.
//!
//! A redeem is one `update` that committed (a counter increment); its latency includes the
//! retries it needed. At the end the counters must add up to the redeems counted, or the run
//! fails: no update may be lost. SQLite runs on OS threads (its store is blocking), PostgreSQL and
//! Redis as tokio tasks on one multi-thread runtime through their `AsyncStore`.
//!
//! ```sh
//! bash .ci/services cargo run --release -p mfa-benches --bin store_throughput -- --workers 64 --seconds 5
//! ```
//! SQLite runs in a temporary file; PostgreSQL and Redis run when `MFA_POSTGRES_URL` /
//! `MFA_REDIS_URL` are set, in a schema / key prefix of their own that is removed afterwards.

use core::time::Duration;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use mfa_core::{AsyncStore, Change, RecordKey, Store, StoreError, update, update_async};
use mfa_store::{PostgresOptions, PostgresStore, RedisOptions, RedisStore, SqliteOptions};
use mfa_store::{SqliteStore, sqlite};

/// What one run measured.
#[derive(Default)]
struct Tally {
    /// Latency of every committed redeem.
    latencies: Vec<Duration>,
    /// Redeems that gave up after `MAX_COMMIT_ATTEMPTS` conflicts in a row.
    gave_up: u64,
    /// Redeems that failed otherwise (busy, unavailable).
    failed: u64,
    /// The first of those failures, to say what it was.
    first_failure: Option<String>,
}

impl Tally {
    fn record(&mut self, started: Instant, outcome: Result<(), StoreError>) {
        match outcome {
            Ok(()) => self.latencies.push(started.elapsed()),
            Err(StoreError::Contention { .. }) => self.gave_up += 1,
            Err(error) => {
                self.failed += 1;
                self.first_failure.get_or_insert_with(|| error.to_string());
            }
        }
    }

    fn merge(&mut self, other: Self) {
        self.latencies.extend(other.latencies);
        self.gave_up += other.gave_up;
        self.failed += other.failed;
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }
}

#[derive(Clone, Copy)]
enum Scenario {
    Distinct,
    OneRecord,
}

impl Scenario {
    const ALL: [Self; 2] = [Self::Distinct, Self::OneRecord];

    fn name(self) -> &'static str {
        match self {
            Self::Distinct => "distinct records",
            Self::OneRecord => "one record",
        }
    }

    /// The record worker `worker` redeems.
    fn key(self, worker: usize) -> RecordKey {
        match self {
            Self::Distinct => RecordKey::new("throughput", "distinct", format!("w{worker}")),
            Self::OneRecord => RecordKey::new("throughput", "one", "hot"),
        }
    }

    /// Every record `workers` workers redeem.
    fn keys(self, workers: usize) -> Vec<RecordKey> {
        match self {
            Self::Distinct => (0..workers).map(|worker| self.key(worker)).collect(),
            Self::OneRecord => vec![self.key(0)],
        }
    }
}

/// One redeem: the counter goes up by one.
fn increment(count: Option<&u64>) -> (Change<u64>, ()) {
    (
        Change::Put(count.copied().unwrap_or(0).saturating_add(1)),
        (),
    )
}

struct Settings {
    workers: usize,
    duration: Duration,
}

fn run_threads<S: Store>(store: &S, scenario: Scenario, settings: &Settings) -> Tally {
    let deadline = Instant::now() + settings.duration;
    let mut total = Tally::default();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..settings.workers)
            .map(|worker| {
                scope.spawn(move || {
                    let key = scenario.key(worker);
                    let mut tally = Tally::default();
                    while Instant::now() < deadline {
                        let started = Instant::now();
                        tally.record(started, update(store, &key, increment));
                    }
                    tally
                })
            })
            .collect();
        for worker in workers {
            total.merge(worker.join().expect("worker thread"));
        }
    });
    total
}

async fn run_tasks<S: AsyncStore + 'static>(
    store: Arc<S>,
    scenario: Scenario,
    settings: &Settings,
) -> Tally {
    let deadline = Instant::now() + settings.duration;
    let workers: Vec<_> = (0..settings.workers)
        .map(|worker| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let key = scenario.key(worker);
                let mut tally = Tally::default();
                while Instant::now() < deadline {
                    let started = Instant::now();
                    tally.record(started, update_async(&*store, &key, increment).await);
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for worker in workers {
        total.merge(worker.await.expect("worker task"));
    }
    total
}

/// The sum of the counters a scenario's workers wrote.
fn counted<S: Store>(store: &S, scenario: Scenario, workers: usize) -> u64 {
    scenario
        .keys(workers)
        .iter()
        .map(|key| {
            mfa_core::load::<_, u64>(store, key)
                .expect("load a counter")
                .unwrap_or(0)
        })
        .sum()
}

async fn counted_async<S: AsyncStore>(store: &S, scenario: Scenario, workers: usize) -> u64 {
    let mut sum = 0_u64;
    for key in &scenario.keys(workers) {
        let count: Option<u64> = mfa_core::load_async(store, key)
            .await
            .expect("load a counter");
        sum = sum.saturating_add(count.unwrap_or(0));
    }
    sum
}

/// Prints one result line; `Err` if the counters disagree with the redeems counted.
fn report(
    backend: &str,
    scenario: Scenario,
    settings: &Settings,
    mut tally: Tally,
    counted: u64,
) -> Result<(), String> {
    tally.latencies.sort_unstable();
    let redeems = tally.latencies.len();
    let percentile = |p: usize| -> f64 {
        if redeems == 0 {
            return f64::NAN;
        }
        let index = (redeems * p).div_ceil(100).saturating_sub(1);
        tally
            .latencies
            .get(index)
            .map_or(f64::NAN, |latency| latency.as_secs_f64() * 1000.0)
    };
    let per_second =
        u32::try_from(redeems).map_or(f64::NAN, f64::from) / settings.duration.as_secs_f64();
    println!(
        "{backend:<10} {:<16} {redeems:>9} {per_second:>11.0} {:>9.2} {:>9.2} {:>8} {:>7}",
        scenario.name(),
        percentile(50),
        percentile(99),
        tally.gave_up,
        tally.failed,
    );
    if let Some(failure) = &tally.first_failure {
        println!("           first failure: {failure}");
    }
    let redeems = u64::try_from(redeems).unwrap_or(u64::MAX);
    if counted == redeems {
        Ok(())
    } else {
        Err(format!(
            "{backend}, {}: the counters add up to {counted}, but {redeems} redeems committed",
            scenario.name()
        ))
    }
}

/// Both scenarios on an async store, one after the other.
async fn async_runs<S: AsyncStore + 'static>(
    backend: &str,
    store: Arc<S>,
    settings: &Settings,
) -> Result<(), String> {
    let mut result = Ok(());
    for scenario in Scenario::ALL {
        let tally = run_tasks(Arc::clone(&store), scenario, settings).await;
        let counted = counted_async(&*store, scenario, settings.workers).await;
        result = result.and(report(backend, scenario, settings, tally, counted));
    }
    result
}

fn sqlite_runs(settings: &Settings) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("mfa-throughput-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = (|| {
        let store = SqliteStore::open_with(
            dir.join("throughput.sqlite3"),
            SqliteOptions::new().max_connections(settings.workers.min(16)),
        )
        .map_err(|e| e.to_string())?;
        for scenario in Scenario::ALL {
            let tally = run_threads(&store, scenario, settings);
            report(
                "sqlite",
                scenario,
                settings,
                tally,
                counted(&store, scenario, settings.workers),
            )?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn postgres_runs(url: &str, settings: &Settings) -> Result<(), String> {
    let schema = format!("throughput_{}", std::process::id());
    let options = PostgresOptions::default()
        .schema(&schema)
        .max_connections(settings.workers.min(32));
    let store = Arc::new(
        PostgresStore::connect_with(url, options)
            .await
            .map_err(|e| e.to_string())?,
    );
    let result = async_runs("postgres", store, settings).await;
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .map_err(|e| e.to_string())?;
    result
}

async fn redis_runs(url: &str, settings: &Settings) -> Result<(), String> {
    let prefix = format!("throughput:{}:", std::process::id());
    let store = Arc::new(
        RedisStore::connect_with(url, RedisOptions::default().prefix(&prefix))
            .await
            .map_err(|e| e.to_string())?,
    );
    let result = async_runs("redis", store, settings).await;
    let mut connection = redis::Client::open(url)
        .and_then(|client| client.get_connection())
        .map_err(|e| e.to_string())?;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut connection)
        .map_err(|e| e.to_string())?;
    if !keys.is_empty() {
        let _deleted: u64 = redis::cmd("DEL")
            .arg(&keys)
            .query(&mut connection)
            .map_err(|e| e.to_string())?;
    }
    result
}

fn settings_from_args() -> Result<Settings, String> {
    let mut settings = Settings {
        workers: 64,
        duration: Duration::from_secs(5),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number: u64 = value
            .parse()
            .map_err(|_| format!("{flag}: {value:?} is not a whole number"))?;
        match flag.as_str() {
            "--workers" => {
                settings.workers = usize::try_from(number.max(1)).map_err(|e| e.to_string())?;
            }
            "--seconds" => settings.duration = Duration::from_secs(number.max(1)),
            _ => return Err(format!("unknown option {flag} (--workers N, --seconds S)")),
        }
    }
    Ok(settings)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("store_throughput: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let settings = settings_from_args()?;
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "{cores} cores, {} workers, {} s per run; SQLite schema v{}, WAL, synchronous FULL",
        settings.workers,
        settings.duration.as_secs(),
        sqlite::SCHEMA_VERSION,
    );
    println!(
        "{:<10} {:<16} {:>9} {:>11} {:>9} {:>9} {:>8} {:>7}",
        "backend", "scenario", "redeems", "redeems/s", "p50 ms", "p99 ms", "gave up", "failed"
    );
    let mut result = sqlite_runs(&settings);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    match std::env::var("MFA_POSTGRES_URL") {
        Ok(url) => result = result.and(runtime.block_on(postgres_runs(&url, &settings))),
        Err(_) => println!("postgres   (MFA_POSTGRES_URL is not set: skipped)"),
    }
    match std::env::var("MFA_REDIS_URL") {
        Ok(url) => result = result.and(runtime.block_on(redis_runs(&url, &settings))),
        Err(_) => println!("redis      (MFA_REDIS_URL is not set: skipped)"),
    }
    result
}
