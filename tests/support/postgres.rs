//! A PostgreSQL server for the tests: an existing one named by `WORKFLOW_TEST_POSTGRES` (a
//! connection string such as `host=/run/postgresql user=postgres`), or a throwaway cluster
//! made with the machine's own binaries (`initdb`, `pg_ctl`) in a temporary directory, reached
//! through a Unix socket in that directory, so that no port is taken. Each test gets a
//! database of its own.
//!
//! Without a server: with `CI` set the tests fail (they are never skipped there); on a
//! developer's machine [`Server::shared`] returns `None` and the test says it was skipped.
//!
//! The throwaway cluster lives as long as the test process: a small watchdog shell stops it
//! and removes its directory once the process has gone, however it ends. On an existing
//! server the tests' databases (named after the test and the process id) are left, for
//! looking at after a failure.

#![allow(dead_code, reason = "each test crate uses a part of it")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// Where the tests' databases are made.
pub struct Server {
    /// Connection string of the server, without a database name.
    base: String,
    /// How to restart it: `pg_ctl` and its arguments; `None` for a server the tests did not
    /// start.
    restart: Option<Vec<String>>,
}

/// One test's own database on the shared server.
pub struct Database {
    /// Connection string of the database.
    pub url: String,
    /// Its name.
    pub name: String,
}

impl Server {
    /// The server for this test process, started on first use; `None` when there is none and
    /// `CI` is not set.
    ///
    /// # Panics
    ///
    /// When `CI` is set and no server can be had, or when starting one fails.
    pub fn shared() -> Option<&'static Server> {
        static SERVER: OnceLock<Option<Server>> = OnceLock::new();
        SERVER.get_or_init(Self::find).as_ref()
    }

    fn find() -> Option<Self> {
        if let Ok(base) = std::env::var("WORKFLOW_TEST_POSTGRES") {
            return Some(Self {
                base,
                restart: None,
            });
        }
        match binaries() {
            Some(bin) => Some(start_cluster(&bin)),
            None if std::env::var_os("CI").is_some() => panic!(
                "no PostgreSQL server: install the postgresql package (initdb, pg_ctl) or set \
                 WORKFLOW_TEST_POSTGRES; with CI set these tests are not skipped"
            ),
            None => {
                eprintln!(
                    "no PostgreSQL server (no initdb found, WORKFLOW_TEST_POSTGRES not set): \
                     the PostgreSQL tests are skipped"
                );
                None
            }
        }
    }

    /// The server's Unix socket, for a server the tests started (`None` for another).
    pub fn socket(&self) -> Option<PathBuf> {
        self.restart.as_ref()?;
        let dir = self.base.strip_prefix("host=")?.split(' ').next()?;
        Some(Path::new(dir).join(".s.PGSQL.5432"))
    }

    /// The server's connection string with `dbname` added.
    pub fn url(&self, dbname: &str) -> String {
        format!("{} dbname={dbname}", self.base)
    }

    /// Restarts the server (`pg_ctl restart -m fast`: every connection is cut, and the server
    /// is back once this returns); `false` for a server the tests did not start.
    ///
    /// # Panics
    ///
    /// When the restart fails.
    pub fn restart(&self) -> bool {
        let Some(args) = &self.restart else {
            return false;
        };
        let (program, args) = args.split_first().expect("pg_ctl and its arguments");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_as_server_user(Path::new(program), &args)
            .stdout(Stdio::null())
            .output()
            .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "the test cluster did not restart: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        true
    }

    /// A new, empty database for one test.
    ///
    /// # Panics
    ///
    /// When the server refuses to make it.
    pub async fn database(&self, test: &str) -> Database {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}_{}_{n}", sanitize(test), std::process::id());
        let (client, connection) = connect(&self.url("postgres")).await;
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("the test server makes a database");
        drop(client);
        let _ = connection.await;
        Database {
            url: self.url(&name),
            name,
        }
    }
}

impl Database {
    /// A connection to the database, driven by a task of its own.
    ///
    /// # Panics
    ///
    /// When the server refuses it.
    pub async fn connect(&self) -> tokio_postgres::Client {
        connect(&self.url).await.0
    }
}

/// A connection to `url`, and the task driving it.
async fn connect(url: &str) -> (tokio_postgres::Client, tokio::task::JoinHandle<()>) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("the test server accepts a connection");
    let driving = tokio::spawn(async move {
        let _ = connection.await;
    });
    (client, driving)
}

/// A database name from a test's name: lower case letters, digits and underscores, short.
fn sanitize(test: &str) -> String {
    let mut name: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert(0, 't');
    }
    name
}

/// The directory holding `initdb` and `pg_ctl`: on the path, or Debian's
/// `/usr/lib/postgresql/<version>/bin`, the newest version first.
fn binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>());
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .collect();
    debian.sort_by_key(|dir| {
        let version = dir
            .parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str());
        std::cmp::Reverse(version.and_then(|v| v.parse::<u32>().ok()).unwrap_or(0))
    });
    on_path
        .chain(debian)
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

/// Runs `program` with `args`, as the `postgres` user when this process is root (PostgreSQL
/// refuses to run as root).
fn run_as_server_user(program: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

/// Whether this process runs as root, asked once.
fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
    })
}

/// Makes and starts a cluster in a fresh temporary directory, with a watchdog that stops it
/// when this process ends.
fn start_cluster(bin: &Path) -> Server {
    let dir = tempfile::Builder::new()
        .prefix("workflow-pg-")
        .tempdir()
        .expect("a temporary directory")
        .keep();
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("chown runs");
        assert!(
            status.success(),
            "the cluster's directory is given to the postgres user"
        );
    }
    let data = dir.join("data");
    let log = dir.join("server.log");
    let (data_s, log_s, dir_s) = (
        data.to_str().unwrap(),
        log.to_str().unwrap(),
        dir.to_str().unwrap(),
    );
    let initdb = run_as_server_user(
        &bin.join("initdb"),
        &[
            "-D",
            data_s,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
    )
    .stdout(Stdio::null())
    .output()
    .expect("initdb runs");
    assert!(
        initdb.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&initdb.stderr)
    );
    // Only a Unix socket, in the cluster's own directory: no port is taken. Durability as in
    // production (fsync stays on): the tests count on what a crash leaves.
    let options = format!("-k {dir_s} -c listen_addresses='' -c max_connections=200");
    let pg_ctl = bin.join("pg_ctl");
    let start = run_as_server_user(
        &pg_ctl,
        &["-D", data_s, "-l", log_s, "-o", &options, "-w", "start"],
    )
    .stdout(Stdio::null())
    .output()
    .expect("pg_ctl runs");
    assert!(
        start.status.success(),
        "the test cluster did not start: {} {}",
        String::from_utf8_lossy(&start.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // The watchdog: once this process has gone, stop the server and remove its directory.
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         {runuser}'{pg_ctl}' -D '{data_s}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir_s}'",
        pid = std::process::id(),
        runuser = if is_root() {
            "runuser -u postgres -- "
        } else {
            ""
        },
        pg_ctl = pg_ctl.display(),
    );
    #[allow(
        clippy::zombie_processes,
        reason = "the watchdog outlives this process by design: it stops the cluster after it"
    )]
    let _watchdog = Command::new("sh")
        .args(["-c", &stop])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the cluster's watchdog starts");
    let restart = [
        pg_ctl.to_str().unwrap(),
        "-D",
        data_s,
        "-l",
        log_s,
        "-o",
        &options,
        "-m",
        "fast",
        "-w",
        "restart",
    ];
    Server {
        base: format!("host={dir_s} user=postgres"),
        restart: Some(restart.iter().map(ToString::to_string).collect()),
    }
}
