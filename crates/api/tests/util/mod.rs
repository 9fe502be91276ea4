//! A real `kite serve` HTTP surface on 127.0.0.1 for the tests: a SQLite job queue and store in
//! a temporary directory, the local executor, kite's fallback chain (store, forecast, embedded
//! data; no live provider) and the full router with its layers.
#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use kite_api::{AppState, limits::ApiConfig};
use kite_core::{Signal, SystemClock};
use kite_engine::{IntensityService, SourceKind};
use kite_service::{ApiState, Control, Executors, LocalExecutor, SqliteQueue, secret::Token};
use std::path::PathBuf;
use std::sync::Arc;

/// A running server.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bearer token.
    pub token: String,
    /// Holds the queue, store and job files.
    pub dir: tempfile::TempDir,
    /// What the handlers share (e.g. to read metrics).
    pub state: Arc<AppState>,
}

impl Server {
    /// The kite store (seed it before the requests that read it).
    pub fn database(&self) -> PathBuf {
        self.dir.path().join("kite.sqlite3")
    }
}

/// Starts a server with `config`; `seed` runs on the store path before the server opens it.
pub async fn start_with(config: ApiConfig, seed: impl FnOnce(&std::path::Path)) -> Server {
    start_with_ledger(config, seed, None::<fn(&std::path::Path)>).await
}

/// Like [`start_with`]; with `ledger`, the server's ledger is `DIR/ledger.sqlite3`, which
/// `ledger` gets to create (with kite-ledger's API) before the server starts.
pub async fn start_with_ledger(
    config: ApiConfig,
    seed: impl FnOnce(&std::path::Path),
    ledger: Option<impl FnOnce(&std::path::Path)>,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("kite.sqlite3");
    seed(&database);
    let ledger = ledger.map(|make| {
        let path = dir.path().join("ledger.sqlite3");
        make(&path);
        path
    });
    let queue = Arc::new(SqliteQueue::open(&dir.path().join("jobs.sqlite3")).unwrap());
    let local = Arc::new(LocalExecutor::new(&dir.path().join("jobs"), None).unwrap());
    // The planning loop is not started (kite-service tests it; here seeded jobs must keep the
    // plans the tests give them): submissions are answered at once and stay pending.
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if let kite_service::Msg::Submitted(w) = m {
                let _ = w.send(());
            }
        }
    });
    let control = Arc::new(Control {
        queue,
        executors: Executors::single(local),
        tx,
    });
    let token = "test-token-0123456789".to_owned();
    let jobs = Arc::new(ApiState {
        control,
        token: Token::new(token.clone()),
        default_regions: vec!["DE".into()],
        max_gpus: None,
    });
    let intensity = Arc::new(IntensityService::new(
        Vec::new(),
        kite_store::Store::open(&database).map_err(|e| e.to_string()),
        vec![
            SourceKind::Store,
            SourceKind::Forecast,
            SourceKind::Embedded,
        ],
        Arc::new(SystemClock),
    ));
    let state = Arc::new(AppState {
        intensity,
        signal: Signal::AVERAGE_LIFECYCLE,
        database,
        ledger,
        jobs,
        config,
        metrics: Arc::default(),
        casdk: Default::default(),
        dashboard: Default::default(),
    });
    let app = kite_api::router(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Server {
        url: format!("http://{addr}"),
        token,
        dir,
        state,
    }
}

/// Starts a server with the default configuration and an empty store.
pub async fn start() -> Server {
    start_with(ApiConfig::default(), |_| {}).await
}
