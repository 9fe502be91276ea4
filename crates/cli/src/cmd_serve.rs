//! `kite serve`: the job service. Opens the queue (`jobs.sqlite3` beside the database), creates
//! the API token on first start (`jobs.sqlite3.token`, 0600), binds the API (127.0.0.1 by
//! default) and writes the bound address to `jobs.sqlite3.addr` for clients, reconciles jobs a
//! previous run left running, then plans, starts and watches jobs until stopped.

use crate::args::GlobalArgs;
use crate::cmd_intensity::load_config;
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use kite_core::{Clock, SystemClock};
use kite_engine::IntensityService;
use kite_scheduler::Capacity;
use kite_service::config::{LocalConfig, ServeConfig};
use kite_service::executor::Executor;
use kite_service::{
    ApiState, Control, Executors, KiteRun, LocalExecutor, Planner, Service, SqliteQueue, secret,
};
use kite_service::{
    KubernetesConfig, KubernetesExecutor, PgQueue, Queue, SlurmConfig, SlurmExecutor,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// `kite serve` flags. Each overrides the same key of the config file's `[serve]` section
/// (see `kite_service::config` and docs/service.md).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:7878; port 0: any free port; the bound address is
    /// written beside the queue).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// The job queue: a SQLite file (default: jobs.sqlite3 beside the database), or a
    /// postgres://USER:PASSWORD@HOST:PORT/DB URL that several kite servers share (one leads).
    #[arg(long, value_name = "PATH", env = "KITE_QUEUE")]
    pub queue: Option<PathBuf>,
    /// Regions for jobs that name none, e.g. DE or aws:eu-central-1.
    #[arg(long, value_delimiter = ',')]
    pub region: Vec<String>,
    /// GPUs per region: `8` (every region) or `DE=8,FR=4`; jobs then share them.
    #[arg(long, value_delimiter = ',')]
    pub capacity: Vec<String>,
    /// Replan all waiting jobs this often (a refreshed forecast), e.g. 15m (the default).
    #[arg(long)]
    pub replan_every: Option<String>,
    /// Book runs and planned jobs' outcomes in this ledger (default: the one `kite ledger init` made, if any).
    #[arg(long, value_name = "PATH", env = "KITE_LEDGER")]
    pub ledger: Option<PathBuf>,
}

/// The queue file: the explicit path, else `jobs.sqlite3` beside the configured database.
pub fn queue_path(global: &GlobalArgs, explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let cfg = load_config(global)?;
    Ok(cfg
        .database
        .parent()
        .map(|d| d.join("jobs.sqlite3"))
        .unwrap_or_else(|| PathBuf::from("jobs.sqlite3")))
}

fn parse_capacity(items: &[String]) -> Result<(Capacity, Option<u32>)> {
    let capacity = crate::cmd_plan::parse_capacity(items)?;
    // The largest limit: a job asking for more GPUs than any zone has is refused at submission.
    let max = items
        .iter()
        .filter_map(|item| item.rsplit('=').next()?.trim().parse::<u32>().ok())
        .max();
    Ok((capacity, max))
}

pub async fn run(global: &GlobalArgs, mut args: ServeArgs) -> Result<()> {
    // `kite serve --database postgres://…`: the job queue goes to PostgreSQL (as `--queue`);
    // kite's own store (history, runs) stays its SQLite file.
    let mut global_owned = global.clone();
    if let Some(url) = global
        .database
        .as_deref()
        .and_then(|d| d.to_str())
        .filter(|d| d.starts_with("postgres://") || d.starts_with("postgresql://"))
    {
        if args
            .queue
            .as_deref()
            .is_some_and(|q| q.to_str() != Some(url))
        {
            bail!(
                "--database is a PostgreSQL URL and --queue is set too: give the URL once, with --queue"
            );
        }
        args.queue = Some(PathBuf::from(url));
        global_owned.database = None;
    }
    let global = &global_owned;
    let cfg = load_config(global)?;
    let serve = ServeConfig::parse(cfg.serve.as_ref())?;
    // Flags win over the file; the file over the defaults.
    let listen = args
        .listen
        .or(serve.listen)
        .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 7878)));
    if args.queue.is_none() {
        args.queue.clone_from(&serve.queue);
    }
    if args.ledger.is_none() {
        args.ledger.clone_from(&serve.ledger);
    }
    if args.region.is_empty() {
        args.region.clone_from(&serve.regions);
    }
    if args.capacity.is_empty() {
        args.capacity = serve
            .capacity
            .iter()
            .map(|(zone, gpus)| format!("{zone}={gpus}"))
            .collect();
    }
    let replan_text = args
        .replan_every
        .clone()
        .or(serve.replan_every.clone())
        .unwrap_or_else(|| "15m".to_owned());
    let replan_every = kite_engine::parse_duration(&replan_text)
        .map_err(|m| anyhow!("--replan-every (or [serve] replan_every): {m}"))?;
    let replan_every =
        Duration::from_secs(u64::try_from(replan_every.as_secs().max(1)).unwrap_or(900));
    let (capacity, max_gpus) = parse_capacity(&args.capacity)?;
    let api_config = kite_api::limits::ApiConfig::from_section(&serve.api)
        .map_err(|m| anyhow!("config [serve.api]: {m}"))?;
    for r in &args.region {
        kite_regions::Registry::embedded()
            .resolve(r)
            .map_err(|e| anyhow!("--region `{r}`: {e}"))?;
    }
    // The queue: a SQLite file, or a PostgreSQL URL shared by several servers. With PostgreSQL
    // the token, address and local job files live beside kite's database instead.
    let pg_url = args
        .queue
        .as_deref()
        .and_then(|q| q.to_str())
        .filter(|q| q.starts_with("postgres://") || q.starts_with("postgresql://"))
        .map(str::to_owned);
    let (queue, queue_file): (Arc<dyn Queue>, PathBuf) = match &pg_url {
        Some(url) => (
            Arc::new(PgQueue::connect(url)?),
            queue_path(global, None)?.with_file_name("jobs.pg"),
        ),
        None => {
            let file = queue_path(global, args.queue.as_deref())?;
            (Arc::new(SqliteQueue::open(&file)?), file)
        }
    };
    let token =
        secret::load_or_create_token(&secret::token_path(&queue_file)).with_context(|| {
            format!(
                "creating the API token {}",
                secret::token_path(&queue_file).display()
            )
        })?;

    let ledger = crate::books::ledger_path(global, args.ledger.as_deref())?;
    if args.ledger.is_some() && !ledger.exists() {
        bail!(
            "the ledger {} does not exist: create it with `kite ledger init --ledger {}`",
            ledger.display(),
            ledger.display()
        );
    }
    let mut global_args = vec![
        "--database".to_owned(),
        std::path::absolute(&cfg.database)
            .unwrap_or_else(|_| cfg.database.clone())
            .to_string_lossy()
            .into_owned(),
    ];
    if let Some(c) = &global.config {
        // Jobs run in their own directories: a relative path would not be found there.
        let c = std::path::absolute(c).unwrap_or_else(|_| c.clone());
        global_args.extend(["--config".into(), c.to_string_lossy().into_owned()]);
    }
    if global.offline {
        global_args.push("--offline".into());
    }
    let measure = KiteRun {
        program: std::env::current_exe().context("finding the kite binary to run jobs with")?,
        global_args,
        ledger: ledger
            .exists()
            .then(|| std::path::absolute(&ledger).unwrap_or(ledger.clone())),
    };
    let jobs_dir = queue_file.with_extension("jobs");
    let local = LocalExecutor::new(&jobs_dir, Some(measure))?;
    let executors = build_executors(&serve, Arc::new(local))?;
    let (tx, rx) = tokio::sync::mpsc::channel(1024);
    let control = Arc::new(Control {
        queue,
        executors,
        tx,
    });

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let providers = kite_engine::build_providers(&cfg.providers)?;
    let store = kite_store::Store::open(&cfg.database)
        .map_err(|e| format!("cannot open {}: {e}", cfg.database.display()));
    let intensity = Arc::new(IntensityService::new(
        providers,
        store,
        cfg.fallback.clone(),
        clock,
    ));
    let service = Service {
        control: control.clone(),
        planner: Planner::new(intensity.clone(), cfg.signal, capacity, max_gpus.is_some()),
        replan_every,
        tick: Duration::from_millis(250),
    };
    if control.queue.try_lead() {
        for line in service.reconcile() {
            eprintln!("kite serve: reconciled {line}");
        }
    } else {
        eprintln!(
            "kite serve: another kite serve leads this queue: this one accepts jobs and serves reads, and takes over if the leader stops"
        );
    }

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}; pick another --listen address"))?;
    let addr = listener.local_addr()?;
    let addr_file = secret::addr_path(&queue_file);
    secret::write_addr(&addr_file, addr)
        .with_context(|| format!("writing {}", addr_file.display()))?;
    eprintln!(
        "kite serve: listening on http://{addr}; queue {}; token in {}",
        queue_file.display(),
        secret::token_path(&queue_file).display()
    );
    let jobs = Arc::new(ApiState {
        control,
        token,
        default_regions: args.region.clone(),
        max_gpus,
    });
    let app = kite_api::router(Arc::new(kite_api::AppState {
        intensity,
        signal: cfg.signal,
        database: cfg.database.clone(),
        ledger: ledger.exists().then_some(ledger),
        jobs,
        config: api_config,
        metrics: Arc::default(),
        casdk: Default::default(),
        dashboard: Default::default(),
    }));
    // The planning loop makes blocking calls (the queue, the planner): on its own thread, it
    // never holds up a request.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("kite-serve-loop".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(service.run(rx)),
                Err(e) => eprintln!("kite serve: cannot start the planning loop: {e}"),
            }
            let _ = done_tx.send(());
        })
        .context("starting the planning loop thread")?;
    // TCP_NODELAY: hyper may write a response's head and body in two writes; with Nagle's
    // algorithm the second waits for the client's (delayed) ACK of the first, up to 40 ms.
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY on a connection: {e}");
        }
    });
    tokio::select! {
        // The client address keys the per-client rate limit.
        r = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()) => r.context("the HTTP server stopped")?,
        _ = done_rx => bail!("the planning loop stopped; see the log above"),
        _ = tokio::signal::ctrl_c() => eprintln!("kite serve: stopping; jobs keep running and are re-attached at the next start"),
    }
    Ok(())
}

/// The executors of the `[[serve.executor]]` tables, each with its zones (resolved like
/// `--region`); the local executor runs every zone no other executor claims.
fn build_executors(serve: &ServeConfig, local: Arc<LocalExecutor>) -> Result<Executors> {
    let registry = kite_regions::Registry::embedded();
    let mut executors = Executors::single(local.clone());
    for (i, entry) in serve.executors.iter().enumerate() {
        let zones = entry
            .zones
            .iter()
            .map(|z| {
                registry
                    .resolve(z)
                    .map(|zone| zone.key.as_str().to_owned())
                    .map_err(|e| anyhow!("config [serve].executor[{i}].zones: `{z}`: {e}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let executor: Arc<dyn Executor> = match entry.kind.as_str() {
            "local" => {
                serve.options::<LocalConfig>(i)?;
                local.clone()
            }
            "slurm" => {
                let mut c: SlurmConfig = serve.options(i)?;
                c.zones.clone_from(&zones);
                Arc::new(
                    SlurmExecutor::new(c)
                        .map_err(|e| anyhow!("config [serve].executor[{i}]: {e}"))?,
                )
            }
            "kubernetes" => {
                let c: KubernetesConfig = serve.options(i)?;
                Arc::new(
                    KubernetesExecutor::new(c)
                        .map_err(|e| anyhow!("config [serve].executor[{i}]: {e}"))?,
                )
            }
            other => bail!("config [serve].executor[{i}]: kind `{other}` is not built in"),
        };
        if !zones.is_empty() {
            executors = executors.with(executor, &zones);
        }
    }
    Ok(executors)
}
