//! Scenario S14, many workers on PostgreSQL: worker processes (this binary, run again with
//! `S14_ROLE=worker`) host the fulfilment flow of `examples/workers/fulfilment.rs` on one
//! database, and the parent runs orders through them while it hurts them:
//!
//! - **killed**: 3 workers, 1,000 orders with events and timers; one worker is killed
//!   (SIGKILL) in the middle of steps;
//! - **paused**: a worker is stopped (SIGSTOP) in the middle of a slow step, past its lease;
//!   another takes the order over and ends it; the first is continued (SIGCONT) and its late
//!   write is refused (its claim was fenced off), so it stops driving the order;
//! - **restarted**: the database is restarted (`pg_ctl restart`) during a run of 3 workers;
//! - **partitioned**: a worker in a network namespace of its own, reaching the database over
//!   a veth pair, is cut off (the link taken down) in the middle of a slow step; another
//!   worker takes the order over and ends it; the link comes back and the first worker's late
//!   write is refused. Needs root and `ip` (iproute2); said to be skipped otherwise.
//!
//! After each, every order must have ended as in a run with one worker and no faults, and the
//! outside systems (a SQLite file of effects by idempotency key) must show each effect made
//! once and no undo that should not have run.
//!
//! Not a libtest harness (`harness = false`): one process per run keeps the children and the
//! database restart apart from any other test.

#[path = "../examples/workers/fulfilment.rs"]
#[allow(dead_code, reason = "the example uses more of it")]
mod fulfilment_flow;

#[path = "support/postgres.rs"]
mod pg_server;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use fulfilment_flow::{Outside, check, effects_file, run_orders};
use workflow_core::InstanceId;
use workflow_core::runtime::Client;
use workflow_core::store::Status;

type Error = Box<dyn std::error::Error>;

/// Orders in the run with a worker killed, and in the run with the database restarted.
const KILLED_ORDERS: usize = 1_000;
const RESTARTED_ORDERS: usize = 300;

/// The effects the worker to be killed makes before its calls hang, their effects made.
const HANG_AFTER: u64 = 300;

/// How long a worker's claims hold without renewal.
const LEASE: Duration = Duration::from_secs(2);

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let outcome = if std::env::var("S14_ROLE").as_deref() == Ok("worker") {
        runtime.block_on(worker())
    } else {
        runtime.block_on(parent())
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("S14: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A worker: `S14_URL`, `S14_EFFECTS`, `S14_NAME` say where and who.
async fn worker() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let url = std::env::var("S14_URL")?;
    let effects = PathBuf::from(std::env::var("S14_EFFECTS")?);
    let name = std::env::var("S14_NAME")?;
    let mut outside = Outside::open(&effects, &name)?;
    if let Ok(after) = std::env::var("S14_HANG_AFTER") {
        outside = outside.hang_after(after.parse()?);
    }
    fulfilment_flow::work(&url, outside, &name, LEASE).await
}

async fn parent() -> Result<(), Error> {
    let Some(server) = pg_server::Server::shared() else {
        return skipped("S14", "no PostgreSQL server");
    };
    killed(server).await?;
    paused(server).await?;
    restarted(server).await?;
    partitioned(server).await?;
    println!("S14: all runs passed");
    Ok(())
}

/// A worker process, with its log in `dir`.
struct Worker {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Worker {
    fn start(name: &str, url: &str, effects: &Path, dir: &Path) -> Result<Self, Error> {
        Self::start_with(name, url, effects, dir, &[])
    }

    fn start_with(
        name: &str,
        url: &str,
        effects: &Path,
        dir: &Path,
        env: &[(&str, &str)],
    ) -> Result<Self, Error> {
        Self::start_in(None, name, url, effects, dir, env)
    }

    /// Starts the worker, in network namespace `netns` if given.
    fn start_in(
        netns: Option<&str>,
        name: &str,
        url: &str,
        effects: &Path,
        dir: &Path,
        env: &[(&str, &str)],
    ) -> Result<Self, Error> {
        let log = dir.join(format!("{name}.log"));
        let mut command = match netns {
            // `ip netns exec` execs the worker: the child's pid is the worker's.
            Some(netns) => {
                let mut command = Command::new("ip");
                command
                    .args(["netns", "exec", netns])
                    .arg(std::env::current_exe()?);
                command
            }
            None => Command::new(std::env::current_exe()?),
        };
        let mut child = command
            .envs(env.iter().copied())
            .env("S14_ROLE", "worker")
            .env("S14_URL", url)
            .env("S14_EFFECTS", effects)
            .env("S14_NAME", name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let mut ready = String::new();
        BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut ready)?;
        if ready.trim() != "ready" {
            let _ = child.kill();
            return Err(format!(
                "{name} did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
            .into());
        }
        Ok(Self {
            name: name.to_string(),
            child,
            log,
        })
    }

    fn signal(&self, signal: &str) -> Result<(), Error> {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            return Err(format!("kill -{signal} {} failed", self.name).into());
        }
        Ok(())
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Closes its standard input: it shuts down, handing its claims back.
    fn stop(mut self) -> Result<(), Error> {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.kill();
                return Err(format!("{} did not shut down", self.name).into());
            }
            std::thread::sleep(Duration::from_millis(20)); // ok: a child process's exit, in real time
        }
        Ok(())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.signal("CONT");
            self.kill();
        }
    }
}

/// Compares a run's ends and effects with a one-worker run's; returns (and reports) the calls
/// repeated after a fault.
fn verify(
    what: &str,
    ended: &std::collections::BTreeMap<String, (Status, String)>,
    effects: &Path,
    count: usize,
) -> Result<u32, Error> {
    let made = Outside::effects(effects)?;
    let wrong = check(ended, &made, count);
    if !wrong.is_empty() {
        return Err(format!(
            "{what}: {} orders went wrong, first: {}",
            wrong.len(),
            wrong[..wrong.len().min(10)].join("; ")
        )
        .into());
    }
    // A declined payment is called three times by its retry policy: those are not repeats.
    let repeated: u32 = made
        .values()
        .flat_map(|steps| steps.iter())
        .map(|((step, applied), calls)| {
            let designed = if step == "pay" && !applied { 3 } else { 1 };
            calls.saturating_sub(designed)
        })
        .sum();
    println!(
        "{what}: {count} orders ended as with one worker; {} effects, each once; {repeated} calls \
         repeated after a fault, recognised by their idempotency key",
        made.values()
            .map(std::collections::BTreeMap::len)
            .sum::<usize>()
    );
    Ok(repeated)
}

async fn killed(server: &pg_server::Server) -> Result<(), Error> {
    let db = server.database("s14_killed").await;
    let dir = tempfile::tempdir()?;
    let effects = effects_file(dir.path());
    Outside::open(&effects, "parent")?;
    // w-1 makes 300 effects, then every call of its hangs once its effect is made: it is
    // killed with steps in the middle, their effects made and not yet recorded.
    let mut workers = vec![Worker::start_with(
        "w-1",
        &db.url,
        &effects,
        dir.path(),
        &[("S14_HANG_AFTER", &HANG_AFTER.to_string())],
    )?];
    for name in ["w-2", "w-3"] {
        workers.push(Worker::start(name, &db.url, &effects, dir.path())?);
    }
    let started = Instant::now();
    let mut killed_at = None;
    let mut hung_since = None;
    let ended = run_orders(
        &db.url,
        &effects,
        KILLED_ORDERS,
        Duration::from_mins(4),
        |_, made| {
            if killed_at.is_some() {
                return;
            }
            if hung_since.is_none()
                && Outside::count(&effects, Some("w-1")).unwrap_or(0) >= HANG_AFTER
            {
                hung_since = Some(Instant::now());
            }
            if hung_since.is_some_and(|at| at.elapsed() > Duration::from_millis(200)) {
                workers[0].kill();
                killed_at = Some((started.elapsed(), made));
            }
        },
    )
    .await?;
    let Some((at, made)) = killed_at else {
        return Err("the run ended before a worker was killed".into());
    };
    println!(
        "killed: w-1 SIGKILLed {:.1}s into the run, after {made} effects; all {KILLED_ORDERS} orders \
         ended {:.1}s in",
        at.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let repeated = verify("killed", &ended, &effects, KILLED_ORDERS)?;
    if repeated == 0 {
        return Err("no step of the killed worker was in the middle: nothing was repeated".into());
    }
    for worker in workers.drain(1..) {
        worker.stop()?;
    }
    Ok(())
}

async fn paused(server: &pg_server::Server) -> Result<(), Error> {
    let db = server.database("s14_paused").await;
    let dir = tempfile::tempdir()?;
    let effects = effects_file(dir.path());
    Outside::open(&effects, "parent")?;
    let first = Worker::start("w-1", &db.url, &effects, dir.path())?;
    let client =
        Client::<fulfilment_flow::fulfilment::Flow>::new(fulfilment_flow::connect(&db.url).await?);
    let id = slow_order_in_ship(&client, &effects).await?;
    // In the middle of the slow shipping call: stopped there, past its lease.
    first.signal("STOP")?;
    let stopped = Instant::now();
    let second = Worker::start("w-2", &db.url, &effects, dir.path())?;
    // Failover: from the stop to the step running again on the other worker.
    while Outside::effects(&effects)?["order-00003"][&("ship".to_string(), true)] < 2 {
        if stopped.elapsed() > Duration::from_secs(30) {
            return Err("no other worker took the order over".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let failover = stopped.elapsed();
    let outcome = tokio::time::timeout(Duration::from_mins(1), client.outcome(&id)).await??;
    let records = client.history(&id).await?.len();
    println!(
        "paused: w-1 stopped in the middle of `ship`; w-2 ran `ship` again {:.2}s later (lease \
         {:.1}s) and ended the order {:?}",
        failover.as_secs_f64(),
        LEASE.as_secs_f64(),
        outcome.state().name()
    );
    first.signal("CONT")?;
    // The first worker wakes, finishes its call, and is refused when it writes.
    fenced_off(
        &first,
        "claim",
        Duration::from_secs(30),
        &client,
        &id,
        records,
        "paused",
    )
    .await?;
    let ended = std::iter::once((
        "order-00003".to_string(),
        (Status::Completed, "Shipped".to_string()),
    ))
    .filter(|_| outcome.state().name() == "Shipped")
    .collect();
    let made = Outside::effects(&effects)?;
    let ship_calls = made["order-00003"][&("ship".to_string(), true)];
    if ship_calls != 2 {
        return Err(format!("`ship` was called {ship_calls} times, expected 2 (once each)").into());
    }
    // Only order 3 ran here: check it alone.
    let only: std::collections::BTreeMap<_, _> = made
        .into_iter()
        .filter(|(order, _)| order == "order-00003")
        .collect();
    let wrong: Vec<String> = check(&ended, &only, 4)
        .into_iter()
        .filter(|line| line.starts_with("order-00003"))
        .collect();
    if !wrong.is_empty() {
        return Err(format!("paused: {}", wrong.join("; ")).into());
    }
    println!(
        "paused: w-1 continued; its claim was fenced off ({}); the order's history is unchanged",
        first
            .log()
            .lines()
            .find(|line| line.contains("claim"))
            .unwrap_or_default()
            .trim()
    );
    first.stop()?;
    second.stop()?;
    Ok(())
}

async fn restarted(server: &pg_server::Server) -> Result<(), Error> {
    let db = server.database("s14_restarted").await;
    let dir = tempfile::tempdir()?;
    let effects = effects_file(dir.path());
    Outside::open(&effects, "parent")?;
    let mut workers = Vec::new();
    for name in ["w-1", "w-2", "w-3"] {
        workers.push(Worker::start(name, &db.url, &effects, dir.path())?);
    }
    let mut restarted = None;
    let started = Instant::now();
    let ended = run_orders(
        &db.url,
        &effects,
        RESTARTED_ORDERS,
        Duration::from_mins(4),
        |_, made| {
            if restarted.is_none() && made >= 400 {
                restarted = Some((server.restart(), started.elapsed()));
            }
        },
    )
    .await?;
    match restarted {
        Some((true, at)) => println!(
            "restarted: the database restarted {:.1}s into the run; all {RESTARTED_ORDERS} orders ended \
             {:.1}s in",
            at.as_secs_f64(),
            started.elapsed().as_secs_f64()
        ),
        Some((false, _)) => skipped("restarted", "the server was not started by the tests")?,
        None => return Err("the run ended before the database was restarted".into()),
    }
    verify("restarted", &ended, &effects, RESTARTED_ORDERS)?;
    for worker in workers {
        worker.stop()?;
    }
    Ok(())
}

/// Starts order 3 with the slow carrier, confirms it once paid, and waits until its first
/// worker is in the middle of the slow `ship` call (its effect made).
async fn slow_order_in_ship(
    client: &Client<fulfilment_flow::fulfilment::Flow>,
    effects: &Path,
) -> Result<InstanceId, Error> {
    let mut placed = fulfilment_flow::order(3);
    placed.order.product = "slow".into();
    let id = client.start_with_id("order-00003", placed).await?;
    wait_for(client, &id, "Paid").await?;
    client
        .send(
            &id,
            fulfilment_flow::AddressConfirmed {
                address: "3 Main Street".into(),
            },
        )
        .await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Outside::effects(effects)?
        .get("order-00003")
        .is_some_and(|steps| steps.contains_key(&("ship".to_string(), true)))
    {
        if Instant::now() > deadline {
            return Err("the shipping call never started".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(id)
}

/// Waits (at most `bound`) until `worker`'s log says its claim was lost (`says`), then checks
/// that it wrote nothing more to instance `id`, which had `records` records.
async fn fenced_off(
    worker: &Worker,
    says: &str,
    bound: Duration,
    client: &Client<fulfilment_flow::fulfilment::Flow>,
    id: &InstanceId,
    records: usize,
    which: &str,
) -> Result<(), Error> {
    let deadline = Instant::now() + bound;
    while !worker.log().contains(says) {
        if Instant::now() > deadline {
            return Err(format!("w-1 never noticed its claim was lost: {}", worker.log()).into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    if client.history(id).await?.len() != records {
        return Err(format!("the {which} worker wrote after it lost its claim").into());
    }
    Ok(())
}

/// Says that `what` was skipped, because `why`; with `CI` set, fails instead: there nothing
/// that needs a server the tests start is skipped.
fn skipped(what: &str, why: &str) -> Result<(), Error> {
    if std::env::var_os("CI").is_none() {
        println!("{what}: skipped, {why}");
        return Ok(());
    }
    Err(format!("{what} cannot run ({why}), and with CI set it is not skipped").into())
}

/// Waits until instance `id` is in state `state`.
async fn wait_for(
    client: &Client<fulfilment_flow::fulfilment::Flow>,
    id: &InstanceId,
    state: &str,
) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.state(id).await?.name() != state {
        if Instant::now() > deadline {
            return Err(format!("{id} never reached {state}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// A network namespace joined to this one by a veth pair, removed when dropped.
struct Netns {
    name: String,
    host_side: String,
    host_ip: String,
}

impl Netns {
    /// Makes one, or says why it cannot be made here.
    fn make() -> Result<Self, String> {
        let id = std::process::id() % 10_000;
        let (name, host_side, inside) = (
            format!("wf14-{id}"),
            format!("wf14h{id}"),
            format!("wf14n{id}"),
        );
        let subnet = format!("10.214.{}", id % 250);
        let host_ip = format!("{subnet}.1");
        let netns = Self {
            name: name.clone(),
            host_side: host_side.clone(),
            host_ip: host_ip.clone(),
        };
        let steps: [&[&str]; 7] = [
            &["netns", "add", &name],
            &[
                "link", "add", &host_side, "type", "veth", "peer", "name", &inside,
            ],
            &["link", "set", &inside, "netns", &name],
            &["addr", "add", &format!("{host_ip}/24"), "dev", &host_side],
            &["link", "set", &host_side, "up"],
            &[
                "-n",
                &name,
                "addr",
                "add",
                &format!("{subnet}.2/24"),
                "dev",
                &inside,
            ],
            &["-n", &name, "link", "set", &inside, "up"],
        ];
        for args in steps {
            ip(args)?;
        }
        ip(&["-n", &name, "link", "set", "lo", "up"])?;
        Ok(netns)
    }

    /// Takes the link down (`false`) or up again (`true`).
    fn link(&self, up: bool) -> Result<(), String> {
        ip(&[
            "link",
            "set",
            &self.host_side,
            if up { "up" } else { "down" },
        ])
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
        let _ = ip(&["link", "del", &self.host_side]);
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("`ip` cannot run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Forwards TCP connections on `listener` to the server's Unix socket: the way into the
/// database from the namespace.
async fn forward(listener: tokio::net::TcpListener, socket: PathBuf) {
    loop {
        let Ok((mut tcp, _)) = listener.accept().await else {
            return;
        };
        let socket = socket.clone();
        tokio::spawn(async move {
            if let Ok(mut unix) = tokio::net::UnixStream::connect(&socket).await {
                let _ = tokio::io::copy_bidirectional(&mut tcp, &mut unix).await;
            }
        });
    }
}

async fn partitioned(server: &pg_server::Server) -> Result<(), Error> {
    let Some(socket) = server.socket() else {
        return skipped("partitioned", "the server was not started by the tests");
    };
    let netns = match Netns::make() {
        Ok(netns) => netns,
        Err(why) => {
            let why = format!("no network namespace can be made here: {why}");
            return skipped("partitioned", &why);
        }
    };
    let listener = tokio::net::TcpListener::bind((netns.host_ip.as_str(), 0)).await?;
    let port = listener.local_addr()?.port();
    let forwarding = tokio::spawn(forward(listener, socket));
    let db = server.database("s14_partitioned").await;
    let remote_url = format!(
        "host={} port={port} user=postgres dbname={}",
        netns.host_ip, db.name
    );
    let dir = tempfile::tempdir()?;
    let effects = effects_file(dir.path());
    Outside::open(&effects, "parent")?;
    let first = Worker::start_in(
        Some(&netns.name),
        "w-1",
        &remote_url,
        &effects,
        dir.path(),
        &[],
    )?;
    let client =
        Client::<fulfilment_flow::fulfilment::Flow>::new(fulfilment_flow::connect(&db.url).await?);
    let id = slow_order_in_ship(&client, &effects).await?;
    netns.link(false)?;
    let cut = Instant::now();
    let second = Worker::start("w-2", &db.url, &effects, dir.path())?;
    let outcome = tokio::time::timeout(Duration::from_mins(1), client.outcome(&id)).await??;
    let records = client.history(&id).await?.len();
    println!(
        "partitioned: w-1 cut off from the database in the middle of `ship`; w-2 ended the \
         order {:?} {:.1}s later",
        outcome.state().name(),
        cut.elapsed().as_secs_f64()
    );
    netns.link(true)?;
    fenced_off(
        &first,
        "claim lost",
        Duration::from_mins(1),
        &client,
        &id,
        records,
        "cut-off",
    )
    .await?;
    let made = Outside::effects(&effects)?;
    let steps: Vec<&(String, bool)> = made["order-00003"].keys().collect();
    let ship_calls = made["order-00003"][&("ship".to_string(), true)];
    if outcome.state().name() != "Shipped" || ship_calls != 2 || steps.len() != 5 {
        return Err(format!(
            "partitioned: ended {:?}, effects {:?}",
            outcome.state().name(),
            made["order-00003"]
        )
        .into());
    }
    println!(
        "partitioned: the link came back; w-1's claim was fenced off, the order's history is \
         unchanged, each effect once"
    );
    first.stop()?;
    second.stop()?;
    forwarding.abort();
    Ok(())
}
