//! A throwaway PostgreSQL server for tests: `initdb` in a temp dir, listening on 127.0.0.1 on a
//! free port with password authentication, stopped (immediately) and deleted on drop, also when
//! the test panics.
//!
//! Uses the Debian `postgresql` package's binaries (`/usr/lib/postgresql/<version>/bin`, or
//! `KITE_PG_BIN`). PostgreSQL refuses to run as root, so as root (CI) the data directory is
//! given to the `postgres` user the package creates and the server runs as it (`runuser`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The superuser the tests connect as.
pub const USER: &str = "kite";
/// Its password (the URL carries it, so redaction is tested against a real one).
pub const PASSWORD: &str = "kite-test-secret";

/// A running PostgreSQL server; stopped and removed when dropped.
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
    running: bool,
    /// How long `initdb` plus the first start took.
    pub startup: Duration,
}

/// The server binaries: `KITE_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("KITE_PG_BIN") {
        return Ok(PathBuf::from(p));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p).ok_or_else(|| {
        "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin; install them with \
         `apt-get install postgresql` (scripts/test.sh does) or set KITE_PG_BIN"
            .to_owned()
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

fn check(what: &str, out: std::io::Result<Output>) -> Result<Output, String> {
    let out = out.map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(out)
}

impl Postgres {
    /// Creates a cluster in a new temp dir and starts it; panics with the reason on failure.
    pub fn start() -> Postgres {
        match Postgres::try_start() {
            Ok(pg) => pg,
            Err(e) => panic!("starting a test PostgreSQL: {e}"),
        }
    }

    /// Creates a cluster in a new temp dir and starts it.
    pub fn try_start() -> Result<Postgres, String> {
        let t0 = Instant::now();
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("kite-pg-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let as_postgres = is_root();
        let mut pg = Postgres {
            bin,
            dir,
            port: 0,
            as_postgres,
            running: false,
            startup: Duration::ZERO,
        };
        let pwfile = pg.dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).map_err(|e| format!("{}: {e}", pwfile.display()))?;
        if as_postgres {
            check(
                "chown the data dir to postgres",
                Command::new("chown")
                    .args(["-R", "postgres:"])
                    .arg(pg.dir.path())
                    .output(),
            )?;
        }
        let data = pg.data();
        let mut initdb = pg.command("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            // The cluster is thrown away: skip initdb's fsyncs (the server itself keeps fsync on).
            .args(["--no-sync", "-E", "UTF8", "--locale=C"]);
        check("initdb", initdb.output())?;
        // Another process may take the port between our probe and the server's bind: retry.
        let mut last = String::new();
        for _ in 0..5 {
            pg.port = free_port()?;
            match pg.pg_ctl_start() {
                Ok(()) => {
                    pg.startup = t0.elapsed();
                    return Ok(pg);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A command from the server's bin dir, run as `postgres` when we are root.
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn pg_ctl_start(&mut self) -> Result<(), String> {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=on -c synchronous_commit=on",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-t", "60", "-l"])
            .arg(&log)
            .args(["-o", &opts, "start"])
            .output();
        match check("pg_ctl start", out) {
            Ok(_) => {
                self.running = true;
                Ok(())
            }
            Err(e) => Err(format!(
                "{e}\nserver log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )),
        }
    }

    fn pg_ctl_stop(&mut self, mode: &str) -> Result<(), String> {
        if !self.running {
            return Ok(());
        }
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-t", "60", "-m", mode, "stop"])
            .output();
        check("pg_ctl stop", out)?;
        self.running = false;
        Ok(())
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its data and socket directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A URL for database `db` (`postgres` always exists; see [`Postgres::create_db`]).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL with `psql` (as [`USER`], over TCP) in database `db`; returns its unaligned,
    /// tuples-only output, trimmed.
    pub fn sql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", USER])
            .args(["-d", db, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])
            .env("PGPASSWORD", PASSWORD)
            .output();
        let out = check(&format!("psql `{sql}`"), out)?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Creates database `name` (one per test keeps tests on one server independent).
    pub fn create_db(&self, name: &str) -> Result<(), String> {
        self.sql("postgres", &format!("CREATE DATABASE \"{name}\""))
            .map(|_| ())
    }

    /// Kills the server without a clean shutdown (`pg_ctl stop -m immediate`: no checkpoint,
    /// recovery from the WAL at the next start), then starts it again on the same port.
    pub fn crash_and_restart(&mut self) -> Result<(), String> {
        self.pg_ctl_stop("immediate")?;
        self.pg_ctl_start()
    }

    /// Stops the server (fast shutdown); dropping it does too.
    pub fn stop(&mut self) -> Result<(), String> {
        self.pg_ctl_stop("fast")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Err(e) = self.pg_ctl_stop("immediate") {
            eprintln!(
                "stopping the test PostgreSQL in {}: {e}",
                self.dir.path().display()
            );
        }
    }
}
