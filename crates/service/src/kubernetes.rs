//! The Kubernetes executor: one `batch/v1` Job per kite job, held by `spec.suspend: true` until
//! its planned start.
//!
//! | Trait method | What it does in the cluster |
//! |---|---|
//! | [`Executor::submit`] | `POST` a Job `kite-<job id>` with `suspend: true`, the node selector of the planned zone's pool, label `kite.dev/job-id`, annotations with the planned start and deadline, one container running the command (`command` = the argv), `backoffLimit: 0`, `restartPolicy: Never`, `activeDeadlineSeconds` = deadline − planned start. `409 AlreadyExists` with our label → the same job (adopted, never a second Job); without it → refused. |
//! | [`Executor::reschedule`] | merge-patch the `kite.dev/planned-start` annotation and `activeDeadlineSeconds` (guarded by `resourceVersion`); refused once started |
//! | [`Executor::start`] | merge-patch `suspend: false` and the `kite.dev/started` annotation in one write, guarded by `resourceVersion`; refused when the annotation is there or the Job is not suspended (never started twice) |
//! | [`Executor::status`] | read the Job from the watch's cache (below), or `GET` it when the cache cannot answer: `Complete` → exit 0; `Failed` → the exit code of its pod's container (`GET pods?labelSelector=batch.kubernetes.io/controller-uid=<uid>`), or lost with the condition's reason if no pod is left; suspended → waiting (never started) or suspended (started); otherwise running. A Job that is gone or has another uid → cancelled if this executor deleted it, else lost. |
//! | [`Executor::cancel`] | `DELETE` with `propagationPolicy: Background` (pods go too); `404` is fine |
//! | [`Executor::suspend`] / [`Executor::resume`] | merge-patch `suspend: true` / `false`: Kubernetes *deletes* the running pods on suspend and creates new ones on resume, so the command starts again from the beginning (only useful for jobs that checkpoint); `activeDeadlineSeconds` restarts on resume |
//!
//! **Status is watched.** From the first `status` on, one task per executor keeps a cache of the
//! Jobs labelled `kite.dev/job-id` in the namespace, as a client-go reflector does: `LIST`
//! (objects and the list's `resourceVersion`), then `WATCH` from that version
//! (`allowWatchBookmarks`, `timeoutSeconds=60`) applying `ADDED` / `MODIFIED` /
//! `DELETED`; `BOOKMARK`s and events move the version; when the server ends the stream the
//! watch re-opens from the last version, on `410 Gone` / `Expired` (an `ERROR` event "too old
//! resource version", or the answer to the watch request) it re-lists, and while the server
//! cannot be reached it retries with backoff. `status` answers from the cache only while it is
//! listed and the watch is open, for a Job the cache holds under the handle's uid (or saw
//! deleted), and once the watch has shown this executor's own last write to that Job
//! (read-your-writes: versions are compared for equality only, as the API requires); otherwise
//! it `GET`s the Job as before, so it is never worse than polling. Pods are still listed only
//! for a `Failed` Job's exit code. The cache can lag the server by the events in flight, and a
//! silently dead connection shows only after the watch's idle limit (70 s), while `status`
//! reports the last state seen.
//!
//! The [`Executor`] trait is synchronous and the service calls it from inside its own tokio
//! runtime (a current-thread runtime in the CLI), where `block_on` would panic. So the executor
//! owns a small runtime with one worker thread: each call is spawned onto it and the caller
//! waits on a `std` channel, bounded by the configured timeout. The watch runs on the same
//! runtime. Nothing here needs the caller's runtime, so it works from plain threads and from
//! async code alike.

use crate::executor::{ExecError, ExecState, Executor, Handle, Launch};
use futures_util::StreamExt;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, Pod, PodSpec, PodTemplateSpec, ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kite_core::{Clock, SystemClock, Timestamp};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

/// The label every kite Job (and its pods) carries: the kite job id.
pub const LABEL_JOB_ID: &str = "kite.dev/job-id";
/// Annotation: the planned start (RFC 3339).
pub const ANNOTATION_PLANNED_START: &str = "kite.dev/planned-start";
/// Annotation: the job's deadline (RFC 3339).
pub const ANNOTATION_DEADLINE: &str = "kite.dev/deadline";
/// Annotation written together with `suspend: false` by [`Executor::start`]: when kite started it.
pub const ANNOTATION_STARTED: &str = "kite.dev/started";
/// The container's name in the pod template.
pub const CONTAINER: &str = "job";

/// A bearer token; never printed by `Debug`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct KubeToken(String);

impl KubeToken {
    /// Wraps a token.
    pub fn new(text: impl Into<String>) -> KubeToken {
        KubeToken(text.into().trim().to_owned())
    }
}

impl fmt::Debug for KubeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KubeToken(***)")
    }
}

/// One Kubernetes executor (`[[serve.executor]] kind = "kubernetes"`): a cluster, a namespace,
/// an image, and a node pool per zone.
///
/// ```toml
/// name = "k8s-eu"
/// server = "https://10.0.0.1:6443"          # or kubeconfig = "/etc/kite/kubeconfig"
/// token_file = "/etc/kite/k8s-token"        # or token = "…"
/// certificate_authority = "/etc/kite/k8s-ca.pem"
/// namespace = "batch"
/// image = "registry.example.com/kite-jobs:1"
/// service_account = "kite-jobs"
/// node_selectors = { DE = { "topology.kubernetes.io/region" = "europe-west3" }, FR = { "topology.kubernetes.io/region" = "europe-west9" } }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    /// The executor's name, unique among executors (`k8s-eu`); handles refer to it.
    pub name: String,
    /// The API server's URL (`https://host:6443`). Required unless `kubeconfig` is given; when
    /// both are given it overrides the kubeconfig's server.
    #[serde(default)]
    pub server: Option<String>,
    /// A kubeconfig file: server, credentials and CA of its current context (or `context`).
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use instead of its current one.
    #[serde(default)]
    pub context: Option<String>,
    /// A bearer token (a service account token) for `server`.
    #[serde(default)]
    pub token: Option<KubeToken>,
    /// A file holding the bearer token, re-read as the client needs it (projected tokens rotate).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// A PEM file with the CA that signed the API server's certificate.
    #[serde(default)]
    pub certificate_authority: Option<PathBuf>,
    /// The namespace the Jobs are created in.
    pub namespace: String,
    /// The container image the commands run in.
    pub image: String,
    /// Node selector per kite zone (`DE = { "topology.kubernetes.io/region" = "europe-west3" }`).
    /// Empty: no selector (the whole cluster is one zone). Otherwise a job planned in a zone
    /// without an entry is refused at submit.
    #[serde(default)]
    pub node_selectors: BTreeMap<String, BTreeMap<String, String>>,
    /// The service account the job pods run as.
    #[serde(default)]
    pub service_account: Option<String>,
    /// The extended resource a job's GPUs are requested as (default `nvidia.com/gpu`).
    #[serde(default)]
    pub gpu_resource: Option<String>,
    /// Seconds one API call may take before it fails as a backend error (default 10).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

/// Runs jobs as suspended-then-resumed `batch/v1` Jobs through the Kubernetes API.
pub struct KubernetesExecutor {
    name: String,
    namespace: String,
    image: String,
    node_selectors: BTreeMap<String, BTreeMap<String, String>>,
    service_account: Option<String>,
    gpu_resource: String,
    timeout: Duration,
    jobs: Api<Job>,
    pods: Api<Pod>,
    /// The same Jobs through a client without a read timeout: a watch may be quiet for minutes.
    watch_api: Api<Job>,
    /// What the watch has seen; `status` answers from it when it can.
    cache: Arc<Mutex<Cache>>,
    /// Starts the watch at the first `status` (an executor nobody asks, e.g. on a follower
    /// server, opens no watch).
    watch_started: Once,
    /// Jobs this executor deleted, so their absence reads as cancelled rather than lost.
    cancelled: Mutex<HashSet<String>>,
    /// Owned runtime; `None` only while dropping (shut down in the background, which is
    /// allowed inside another runtime, unlike a plain drop).
    rt: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for KubernetesExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubernetesExecutor")
            .field("name", &self.name)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Drop for KubernetesExecutor {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// Runs `fut` on `rt` and waits for it on a std channel (no runtime needed by the caller).
fn run_on<T: Send + 'static>(
    rt: &tokio::runtime::Runtime,
    timeout: Duration,
    fut: impl Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(tokio::time::timeout(timeout, fut).await);
    });
    match rx.recv() {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err(format!(
            "no answer from the API server within {} s (`timeout_secs`)",
            timeout.as_secs()
        )),
        Err(_) => Err("the executor's runtime stopped".into()),
    }
}

/// `timeoutSeconds` of one watch request: the server ends it then and it is re-opened from the
/// last version seen, so a watch is never older than this.
const WATCH_SECS: u32 = 60;
/// No line from the watch (event or bookmark) for this long: the connection counts as dead.
/// Servers end a watch after `timeoutSeconds`, so a live one is never quiet for longer.
const WATCH_IDLE: Duration = Duration::from_secs(WATCH_SECS as u64 + 10);
/// Pause before re-opening a failed watch or list, doubled per failure up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// `resourceVersion`s remembered per Job, to recognise a write's version once the watch brings it.
const RECENT: usize = 8;
/// Deleted Jobs remembered (beyond that the tombstones are dropped and a `GET` answers).
const TOMBSTONES: usize = 4096;

/// A Job as the watch last delivered it, with the versions it went through lately.
struct Seen {
    job: Job,
    recent: VecDeque<String>,
}

/// What `status` may still not read from the cache for a Job, because this executor wrote it
/// and the watch has not shown that write yet (read-your-writes; versions compare for equality
/// only, as the API requires).
#[derive(Debug, Clone, PartialEq)]
enum Pending {
    /// A write in flight, or one whose outcome is unknown (failed, timed out).
    Unknown,
    /// The cache is current once the watch delivers this version.
    Version(String),
    /// The cache is current once the watch delivers the deletion.
    Deleted,
}

/// The executor's reflector: the latest Job objects from a LIST and the watch events since.
#[derive(Default)]
struct Cache {
    jobs: HashMap<String, Seen>,
    /// Jobs the watch saw deleted (or a re-list no longer found): name → uid.
    gone: HashMap<String, Option<String>>,
    /// A LIST filled the cache and the watch continuing from it is open: the cache may answer.
    synced: bool,
    pending: HashMap<String, Pending>,
}

/// Where `status` gets a Job from.
enum Lookup {
    /// The cache's copy, current.
    Job(Box<Job>),
    /// The watch saw the Job (this uid) deleted.
    Gone,
    /// The cache cannot tell: ask the API server.
    Ask,
}

fn lock(cache: &Mutex<Cache>) -> MutexGuard<'_, Cache> {
    cache.lock().unwrap_or_else(|p| p.into_inner())
}

impl Cache {
    fn lookup(&self, name: &str, uid: Option<&str>) -> Lookup {
        if !self.synced || self.pending.contains_key(name) {
            return Lookup::Ask;
        }
        if let Some(seen) = self.jobs.get(name) {
            // Another uid under the name may be a Job the watch has not shown yet: ask.
            return match (uid, seen.job.metadata.uid.as_deref()) {
                (Some(want), Some(got)) if want != got => Lookup::Ask,
                _ => Lookup::Job(Box::new(seen.job.clone())),
            };
        }
        match (uid, self.gone.get(name)) {
            (Some(want), Some(Some(got))) if want == got => Lookup::Gone,
            // Never seen: maybe created a moment ago by another kite server; ask.
            _ => Lookup::Ask,
        }
    }

    /// An `ADDED` / `MODIFIED` event (or a listed item).
    fn put(&mut self, job: Job) -> Option<String> {
        let name = job.metadata.name.clone()?;
        let rv = job.metadata.resource_version.clone()?;
        self.gone.remove(&name);
        if self.pending.get(&name) == Some(&Pending::Version(rv.clone())) {
            self.pending.remove(&name);
        }
        let seen = self.jobs.entry(name).or_insert_with(|| Seen {
            job: Job::default(),
            recent: VecDeque::new(),
        });
        seen.job = job;
        if seen.recent.len() == RECENT {
            seen.recent.pop_front();
        }
        seen.recent.push_back(rv.clone());
        Some(rv)
    }

    /// A `DELETED` event (or a Job a re-list no longer has).
    fn delete(&mut self, name: &str, uid: Option<String>) {
        self.jobs.remove(name);
        if self.gone.len() >= TOMBSTONES {
            self.gone.clear();
        }
        self.gone.insert(name.to_owned(), uid);
        if self.pending.get(name) == Some(&Pending::Deleted) {
            self.pending.remove(name);
        }
    }

    /// A LIST answered: its items replace the cache.
    fn relisted(&mut self, items: Vec<Job>) {
        let listed: HashSet<String> = items
            .iter()
            .filter_map(|j| j.metadata.name.clone())
            .collect();
        let vanished: Vec<(String, Option<String>)> = self
            .jobs
            .iter()
            .filter(|(name, _)| !listed.contains(*name))
            .map(|(name, seen)| (name.clone(), seen.job.metadata.uid.clone()))
            .collect();
        for (name, uid) in vanished {
            self.delete(&name, uid);
        }
        for job in items {
            self.put(job);
        }
    }

    /// This executor is about to write the Job.
    fn writing(&mut self, name: &str) {
        self.pending.insert(name.to_owned(), Pending::Unknown);
    }

    /// The server's view of the Job after a write of ours or a fallback read (`None`: it is
    /// gone): the cache may answer again once the watch has shown that view.
    fn observed(&mut self, name: &str, version: Option<&str>) {
        if !self.pending.contains_key(name) {
            return;
        }
        let caught_up = match version {
            Some(rv) => self
                .jobs
                .get(name)
                .is_some_and(|s| s.recent.iter().any(|r| r == rv)),
            None => !self.jobs.contains_key(name) && self.gone.contains_key(name),
        };
        if caught_up {
            self.pending.remove(name);
        } else {
            let want = version.map_or(Pending::Deleted, |rv| Pending::Version(rv.to_owned()));
            self.pending.insert(name.to_owned(), want);
        }
    }
}

/// Whether a watch error means "re-list": `410 Gone` / `Expired`, e.g. "too old resource
/// version" after the server compacted its history.
fn expired(status: &kube::core::Status) -> bool {
    status.code == 410 || status.reason == "Expired" || status.reason == "Gone"
}

/// The watch: LIST the labelled Jobs (the cache and a `resourceVersion`), WATCH from that
/// version, apply events; re-open from the last version (bookmarks move it too) when the server
/// ends the stream, re-list on `410`, back off while the server cannot be reached.
async fn watch_jobs(
    list_api: Api<Job>,
    watch_api: Api<Job>,
    cache: Arc<Mutex<Cache>>,
    executor: String,
    timeout: Duration,
) {
    let mut version: Option<String> = None;
    let mut backoff = BACKOFF_MIN;
    loop {
        let from = match version.take() {
            Some(v) => v,
            None => {
                let lp = ListParams::default().labels(LABEL_JOB_ID);
                match tokio::time::timeout(timeout, list_api.list(&lp)).await {
                    Ok(Ok(list)) => {
                        lock(&cache).relisted(list.items);
                        list.metadata.resource_version.unwrap_or_default()
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(executor, error = %e, "cannot list the Jobs to watch; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        continue;
                    }
                    Err(_) => {
                        tracing::warn!(executor, "no answer to the Job list; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        continue;
                    }
                }
            }
        };
        version = Some(from.clone());
        let wp = WatchParams::default()
            .labels(LABEL_JOB_ID)
            .timeout(WATCH_SECS);
        let stream = match tokio::time::timeout(timeout, watch_api.watch(&wp, &from)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(kube::Error::Api(s))) if expired(&s) => {
                version = None;
                continue;
            }
            Ok(Err(e)) => {
                tracing::warn!(executor, error = %e, "cannot watch the Jobs; status reads them one by one meanwhile");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
            Err(_) => {
                tracing::warn!(executor, "no answer to the Job watch; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        lock(&cache).synced = true;
        let opened = Instant::now();
        let mut failed = false;
        let mut stream = std::pin::pin!(stream);
        loop {
            let event = match tokio::time::timeout(WATCH_IDLE, stream.next()).await {
                Ok(Some(event)) => event,
                // The server ended the watch (its timeout, a restart, a proxy): re-open.
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(executor, "the Job watch went quiet; re-opening it");
                    failed = true;
                    break;
                }
            };
            match event {
                Ok(WatchEvent::Added(job) | WatchEvent::Modified(job)) => {
                    if let Some(rv) = lock(&cache).put(job) {
                        version = Some(rv);
                    }
                }
                Ok(WatchEvent::Deleted(job)) => {
                    if let Some(name) = &job.metadata.name {
                        lock(&cache).delete(name, job.metadata.uid.clone());
                    }
                    if let Some(rv) = job.metadata.resource_version {
                        version = Some(rv);
                    }
                }
                Ok(WatchEvent::Bookmark(b)) => version = Some(b.metadata.resource_version),
                Ok(WatchEvent::Error(s)) if expired(&s) => {
                    version = None;
                    break;
                }
                Ok(WatchEvent::Error(s)) => {
                    tracing::warn!(executor, code = s.code, reason = %s.reason, message = %s.message, "the Job watch reported an error; re-opening it");
                    failed = true;
                    break;
                }
                Err(kube::Error::Api(s)) if expired(&s) => {
                    version = None;
                    break;
                }
                Err(e) => {
                    tracing::warn!(executor, error = %e, "the Job watch broke; re-opening it");
                    failed = true;
                    break;
                }
            }
        }
        lock(&cache).synced = false;
        // A watch that failed, or one the server ended at once, is re-opened after a pause.
        if failed || opened.elapsed() < Duration::from_secs(1) {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
        } else {
            backoff = BACKOFF_MIN;
        }
    }
}

impl KubernetesExecutor {
    /// Builds the client from `cfg` (reads the kubeconfig, token and CA files); makes no request.
    pub fn new(cfg: KubernetesConfig) -> Result<KubernetesExecutor, ExecError> {
        let name = cfg.name.clone();
        let err = |message: String| ExecError::Backend {
            executor: name.clone(),
            message,
        };
        if cfg.namespace.trim().is_empty() || cfg.image.trim().is_empty() {
            return Err(err(
                "`namespace` and `image` must not be empty; set both in the executor's config"
                    .into(),
            ));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("kite-{name}"))
            .enable_all()
            .build()
            .map_err(|e| err(format!("cannot start the executor's runtime: {e}")))?;
        let timeout = Duration::from_secs(cfg.timeout_secs.unwrap_or(10).max(1));
        let client_cfg = cfg.clone();
        let config = run_on(&rt, timeout, async move { make_config(client_cfg).await })
            .and_then(|r| r)
            .map_err(&err)?;
        let mut watch_config = config.clone();
        // The watch's own idle limit ([`WATCH_IDLE`]) catches a dead connection instead.
        watch_config.read_timeout = None;
        let (client, watch_client) = {
            // Building a client needs a runtime (hyper's executor); the executor's own one.
            let _guard = rt.enter();
            let build = |c: kube::Config| {
                kube::Client::try_from(c)
                    .map_err(|e| err(format!("cannot build the Kubernetes client: {e}")))
            };
            (build(config)?, build(watch_config)?)
        };
        Ok(KubernetesExecutor {
            jobs: Api::namespaced(client.clone(), &cfg.namespace),
            pods: Api::namespaced(client, &cfg.namespace),
            watch_api: Api::namespaced(watch_client, &cfg.namespace),
            cache: Arc::new(Mutex::new(Cache::default())),
            watch_started: Once::new(),
            name: cfg.name,
            namespace: cfg.namespace,
            image: cfg.image,
            node_selectors: cfg.node_selectors,
            service_account: cfg.service_account,
            gpu_resource: cfg.gpu_resource.unwrap_or_else(|| "nvidia.com/gpu".into()),
            timeout,
            cancelled: Mutex::new(HashSet::new()),
            rt: Some(rt),
        })
    }

    /// Whether the Job watch is open on a listed cache, i.e. `status` can answer without a
    /// request (for tests and diagnostics; the watch starts at the first `status`).
    pub fn watching(&self) -> bool {
        lock(&self.cache).synced
    }

    fn ensure_watch(&self) {
        let Some(rt) = self.rt.as_ref() else {
            return;
        };
        self.watch_started.call_once(|| {
            rt.spawn(watch_jobs(
                self.jobs.clone(),
                self.watch_api.clone(),
                self.cache.clone(),
                self.name.clone(),
                self.timeout,
            ));
        });
    }

    /// Runs a write to the Job `name`, so `status` reads it from the server until the watch
    /// shows the result.
    fn write<T: Send + 'static>(
        &self,
        name: &str,
        fut: impl Future<Output = Result<T, kube::Error>> + Send + 'static,
        version: impl Fn(&T) -> Option<String>,
    ) -> Result<Result<T, kube::Error>, ExecError> {
        lock(&self.cache).writing(name);
        let answer = self.call(fut)?;
        if let Ok(v) = &answer
            && let Some(rv) = version(v)
        {
            lock(&self.cache).observed(name, Some(&rv));
        }
        Ok(answer)
    }

    fn backend(&self, message: impl Into<String>) -> ExecError {
        ExecError::Backend {
            executor: self.name.clone(),
            message: message.into(),
        }
    }

    /// Runs one API call on the executor's runtime.
    fn call<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, ExecError> {
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| self.backend("the executor is shutting down"))?;
        run_on(rt, self.timeout, fut).map_err(|m| self.backend(m))
    }

    /// A kube error as a backend error naming the operation and the Job.
    fn api_err(&self, what: &str, job: &str, e: &kube::Error) -> ExecError {
        let detail = match e {
            kube::Error::Api(s) => format!("{} {}: {}", s.code, s.reason, s.message),
            other => format!(
                "{other}; check that the API server is reachable and the credentials are valid"
            ),
        };
        self.backend(format!("{what} Job {}/{job}: {detail}", self.namespace))
    }

    /// The Job's name from a handle (`namespace/name`), checking it belongs here.
    fn job_of(&self, handle: &Handle) -> Result<String, ExecError> {
        let bad = |message: String| ExecError::BadHandle {
            executor: self.name.clone(),
            message,
        };
        if handle.executor != self.name {
            return Err(bad(format!("handle of executor `{}`", handle.executor)));
        }
        match handle.id.split_once('/') {
            Some((ns, name)) if ns == self.namespace && !name.is_empty() => Ok(name.to_owned()),
            _ => Err(bad(format!(
                "`{}` is not `{}/<job>`; was the executor's namespace changed?",
                handle.id, self.namespace
            ))),
        }
    }

    fn get(&self, name: &str) -> Result<Option<Job>, ExecError> {
        let (api, n) = (self.jobs.clone(), name.to_owned());
        self.call(async move { api.get_opt(&n).await })?
            .map_err(|e| self.api_err("cannot read", name, &e))
    }

    fn gone(&self, name: &str) -> String {
        format!(
            "the Job {}/{name} no longer exists (deleted outside kite, or by a TTL)",
            self.namespace
        )
    }

    /// The Job of a handle, if it still exists and is the one kite created (same uid).
    fn get_own(&self, handle: &Handle, name: &str) -> Result<Result<Job, String>, ExecError> {
        let Some(job) = self.get(name)? else {
            return Ok(Err(self.gone(name)));
        };
        let want = handle.data.get("uid").and_then(serde_json::Value::as_str);
        let got = job.metadata.uid.as_deref();
        if let (Some(w), Some(g)) = (want, got)
            && w != g
        {
            return Ok(Err(format!(
                "the Job {}/{name} was replaced by another object (uid {g}, kite created {w})",
                self.namespace
            )));
        }
        Ok(Ok(job))
    }

    fn patch(&self, name: &str, what: &str, body: serde_json::Value) -> Result<Job, ExecError> {
        let (api, n) = (self.jobs.clone(), name.to_owned());
        self.write(
            name,
            async move {
                api.patch(&n, &PatchParams::default(), &Patch::Merge(body))
                    .await
            },
            version_of,
        )?
        .map_err(|e| self.api_err(what, name, &e))
    }

    /// Patches a held (never started) Job, guarded by its `resourceVersion`; retried a few times
    /// when the controller's status writes move the version under us.
    fn patch_held(
        &self,
        handle: &Handle,
        what: &str,
        body: impl Fn() -> serde_json::Value,
    ) -> Result<Job, ExecError> {
        let name = self.job_of(handle)?;
        for _ in 0..5 {
            let job = self
                .get_own(handle, &name)?
                .map_err(|m| self.backend(format!("cannot {what}: {m}")))?;
            if let Some(evidence) = started_evidence(&job) {
                return Err(ExecError::AlreadyStarted {
                    executor: self.name.clone(),
                    job: handle.id.clone(),
                    evidence,
                });
            }
            let mut patch = body();
            patch["metadata"]["resourceVersion"] = serde_json::json!(job.metadata.resource_version);
            let (api, n) = (self.jobs.clone(), name.clone());
            match self.write(
                &name,
                async move {
                    api.patch(&n, &PatchParams::default(), &Patch::Merge(patch))
                        .await
                },
                version_of,
            )? {
                Ok(j) => return Ok(j),
                Err(kube::Error::Api(s)) if s.is_conflict() => continue,
                Err(e) => return Err(self.api_err(&format!("cannot {what}"), &name, &e)),
            }
        }
        Err(self.backend(format!(
            "cannot {what} Job {}/{name}: it kept changing under us (409 Conflict 5 times); retried later",
            self.namespace
        )))
    }

    fn handle(&self, job: &Job, launch_deadline: Timestamp) -> Handle {
        Handle {
            executor: self.name.clone(),
            id: format!(
                "{}/{}",
                self.namespace,
                job.metadata.name.as_deref().unwrap_or_default()
            ),
            data: serde_json::json!({
                "uid": job.metadata.uid,
                "deadline": launch_deadline,
            }),
        }
    }

    fn job_object(&self, launch: &Launch, name: &str) -> Result<Job, ExecError> {
        let selector = if self.node_selectors.is_empty() {
            None
        } else {
            Some(
                self.node_selectors
                    .get(&launch.region)
                    .cloned()
                    .ok_or_else(|| {
                        self.backend(format!(
                            "no node pool for zone `{}`: `node_selectors` has {}; add `{} = {{ label = \"value\" }}` to the executor's config",
                            launch.region,
                            self.node_selectors.keys().cloned().collect::<Vec<_>>().join(", "),
                            launch.region
                        ))
                    })?,
            )
        };
        let labels = BTreeMap::from([
            (LABEL_JOB_ID.to_owned(), label_value(&launch.job_id)),
            ("app.kubernetes.io/managed-by".to_owned(), "kite".to_owned()),
        ]);
        let annotations = BTreeMap::from([
            (
                ANNOTATION_PLANNED_START.to_owned(),
                launch.start.to_string(),
            ),
            (ANNOTATION_DEADLINE.to_owned(), launch.deadline.to_string()),
            ("kite.dev/job".to_owned(), launch.job_id.clone()),
            ("kite.dev/region".to_owned(), launch.region.clone()),
        ]);
        let limits = (launch.gpus > 0).then(|| {
            BTreeMap::from([(self.gpu_resource.clone(), Quantity(launch.gpus.to_string()))])
        });
        Ok(Job {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(self.namespace.clone()),
                labels: Some(labels.clone()),
                annotations: Some(annotations),
                ..ObjectMeta::default()
            },
            spec: Some(JobSpec {
                suspend: Some(true),
                backoff_limit: Some(0),
                active_deadline_seconds: Some(active_deadline(launch.start, launch.deadline)),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        restart_policy: Some("Never".into()),
                        node_selector: selector,
                        service_account_name: self.service_account.clone(),
                        containers: vec![Container {
                            name: CONTAINER.into(),
                            image: Some(self.image.clone()),
                            command: Some(launch.command.clone()),
                            env: Some(vec![EnvVar {
                                name: "KITE_JOB_ID".into(),
                                value: Some(launch.job_id.clone()),
                                ..EnvVar::default()
                            }]),
                            resources: limits.map(|l| ResourceRequirements {
                                limits: Some(l),
                                ..ResourceRequirements::default()
                            }),
                            ..Container::default()
                        }],
                        ..PodSpec::default()
                    }),
                },
                ..JobSpec::default()
            }),
            status: None,
        })
    }

    /// The exit code of the Job's failed container, from its pods.
    fn pod_exit_code(&self, uid: &str) -> Result<Option<i32>, ExecError> {
        let api = self.pods.clone();
        let lp = ListParams::default().labels(&format!("batch.kubernetes.io/controller-uid={uid}"));
        let pods = self
            .call(async move { api.list(&lp).await })?
            .map_err(|e| self.backend(format!("cannot list the pods of Job uid {uid}: {e}")))?;
        Ok(pods
            .items
            .iter()
            .filter_map(|p| p.status.as_ref()?.container_statuses.as_ref())
            .flatten()
            .filter(|c| c.name == CONTAINER)
            .filter_map(|c| Some(c.state.as_ref()?.terminated.as_ref()?.exit_code))
            .find(|code| *code != 0))
    }
}

async fn make_config(cfg: KubernetesConfig) -> Result<kube::Config, String> {
    let server = match &cfg.server {
        Some(server) => Some(server.parse().map_err(|e| {
            format!("`server` = {server:?} is not a URL ({e}); write it like https://10.0.0.1:6443")
        })?),
        None => None,
    };
    let mut config = match (&cfg.kubeconfig, server) {
        (Some(path), server) => {
            let kc = kube::config::Kubeconfig::read_from(path).map_err(|e| {
                format!(
                    "cannot read the kubeconfig {} (`kubeconfig`): {e}",
                    path.display()
                )
            })?;
            let opts = kube::config::KubeConfigOptions {
                context: cfg.context.clone(),
                ..Default::default()
            };
            let mut config = kube::Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| {
                    format!(
                        "cannot use the kubeconfig {} (`kubeconfig`, context {:?}): {e}",
                        path.display(),
                        cfg.context
                    )
                })?;
            if let Some(url) = server {
                config.cluster_url = url;
            }
            config
        }
        (None, Some(url)) => kube::Config::new(url),
        (None, None) => {
            return Err(
                "neither `server` nor `kubeconfig` is set; give the API server URL or a kubeconfig file".into(),
            );
        }
    };
    config.default_namespace = cfg.namespace.clone();
    if let Some(t) = &cfg.token {
        config.auth_info.token = Some(t.0.clone().into());
    }
    if let Some(f) = &cfg.token_file {
        config.auth_info.token_file = Some(f.to_string_lossy().into_owned());
    }
    if let Some(ca) = &cfg.certificate_authority {
        // Read here so a missing file is an error at start-up, not at the first request.
        std::fs::metadata(ca)
            .map_err(|e| format!("cannot read `certificate_authority` {}: {e}", ca.display()))?;
        config.root_cert_file = Some(ca.clone());
    }
    // The service retries on its own schedule; a call must answer within the timeout.
    config.read_timeout = Some(Duration::from_secs(cfg.timeout_secs.unwrap_or(10).max(1)));
    Ok(config)
}

/// A written Job's `resourceVersion`.
fn version_of(job: &Job) -> Option<String> {
    job.metadata.resource_version.clone()
}

/// Seconds from the planned start to the deadline, at least 1 (Kubernetes requires > 0).
fn active_deadline(start: Timestamp, deadline: Timestamp) -> i64 {
    (deadline.as_second() - start.as_second()).max(1)
}

/// The Job's name: `kite-<job id>` as a DNS-1123 label (lowercase, `-` for anything else, at
/// most 63 characters so the `job-name` pod label fits).
pub fn job_name(job_id: &str) -> String {
    let mut s: String = format!("kite-{job_id}")
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            _ => '-',
        })
        .collect();
    s.truncate(63);
    s.trim_end_matches('-').to_owned()
}

/// A label value: at most 63 of `[A-Za-z0-9_.-]`, starting and ending alphanumeric.
fn label_value(v: &str) -> String {
    let mut s: String = v
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.truncate(63);
    s.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// Why a Job counts as started, if it does: kite's start annotation, or not suspended.
fn started_evidence(job: &Job) -> Option<String> {
    let annotations = job.metadata.annotations.as_ref();
    if let Some(at) = annotations.and_then(|a| a.get(ANNOTATION_STARTED)) {
        return Some(format!("annotation {ANNOTATION_STARTED}={at}"));
    }
    let suspended = job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false);
    (!suspended).then(|| "the Job is not suspended".to_owned())
}

/// `(reason, message)` of the Job's condition `ty` when it is true.
fn condition<'a>(job: &'a Job, ty: &str) -> Option<(&'a str, &'a str)> {
    job.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == ty && c.status == "True")
        .map(|c| {
            (
                c.reason.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or(""),
            )
        })
}

impl Executor for KubernetesExecutor {
    fn name(&self) -> &str {
        &self.name
    }

    fn submit(&self, launch: &Launch) -> Result<Handle, ExecError> {
        let name = job_name(&launch.job_id);
        let job = self.job_object(launch, &name)?;
        let api = self.jobs.clone();
        match self.write(
            &name,
            async move { api.create(&PostParams::default(), &job).await },
            version_of,
        )? {
            Ok(created) => Ok(self.handle(&created, launch.deadline)),
            Err(kube::Error::Api(s)) if s.is_already_exists() => {
                // A retried submit (the answer was lost, or kite restarted before persisting the
                // handle): the same kite job adopts its Job; anything else is refused.
                let existing = self.get(&name)?.ok_or_else(|| {
                    self.backend(format!(
                        "Job {}/{name} already exists but then could not be found; retried later",
                        self.namespace
                    ))
                })?;
                let label = existing
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(LABEL_JOB_ID));
                if label == Some(&label_value(&launch.job_id)) {
                    Ok(self.handle(&existing, launch.deadline))
                } else {
                    Err(self.backend(format!(
                        "a Job {}/{name} exists that kite did not create for job {} (label {LABEL_JOB_ID} is {label:?}); delete it or use another namespace",
                        self.namespace, launch.job_id
                    )))
                }
            }
            Err(e) => Err(self.api_err("cannot create", &name, &e)),
        }
    }

    fn reschedule(&self, handle: &Handle, start: Timestamp) -> Result<Handle, ExecError> {
        let deadline = handle
            .data
            .get("deadline")
            .and_then(|d| serde_json::from_value::<Timestamp>(d.clone()).ok());
        self.patch_held(handle, "reschedule", || {
            let mut p = serde_json::json!({
                "metadata": {"annotations": {ANNOTATION_PLANNED_START: start.to_string()}},
            });
            if let Some(d) = deadline {
                p["spec"] = serde_json::json!({"activeDeadlineSeconds": active_deadline(start, d)});
            }
            p
        })?;
        Ok(handle.clone())
    }

    fn start(&self, handle: &Handle) -> Result<Handle, ExecError> {
        let now = SystemClock.now().to_string();
        let job = self.patch_held(handle, "start", || {
            serde_json::json!({
                "metadata": {"annotations": {ANNOTATION_STARTED: now}},
                "spec": {"suspend": false},
            })
        })?;
        let mut h = handle.clone();
        if let Some(uid) = job.metadata.uid {
            h.data["uid"] = serde_json::json!(uid);
        }
        Ok(h)
    }

    fn status(&self, handle: &Handle) -> Result<ExecState, ExecError> {
        let name = self.job_of(handle)?;
        self.ensure_watch();
        let ours = self
            .cancelled
            .lock()
            .map(|c| c.contains(&name))
            .unwrap_or(false);
        let uid = handle.data.get("uid").and_then(serde_json::Value::as_str);
        let lookup = lock(&self.cache).lookup(&name, uid);
        let found = match lookup {
            Lookup::Job(job) => Ok(*job),
            Lookup::Gone => Err(self.gone(&name)),
            Lookup::Ask => {
                let found = self.get_own(handle, &name)?;
                let rv = found
                    .as_ref()
                    .ok()
                    .and_then(|j| j.metadata.resource_version.as_deref());
                lock(&self.cache).observed(&name, rv);
                found
            }
        };
        let job = match found {
            Ok(job) => job,
            Err(_) if ours => return Ok(ExecState::Cancelled),
            Err(reason) => return Ok(ExecState::Lost { reason }),
        };
        if job.metadata.deletion_timestamp.is_some() {
            return Ok(if ours {
                ExecState::Cancelled
            } else {
                ExecState::Lost {
                    reason: format!(
                        "the Job {}/{name} is being deleted (not by kite)",
                        self.namespace
                    ),
                }
            });
        }
        if condition(&job, "Complete").is_some() {
            return Ok(ExecState::Exited { code: 0 });
        }
        if let Some((reason, message)) = condition(&job, "Failed") {
            let uid = job.metadata.uid.clone().unwrap_or_default();
            return Ok(match self.pod_exit_code(&uid)? {
                Some(code) => ExecState::Exited { code },
                None => ExecState::Lost {
                    reason: format!(
                        "the Job {}/{name} failed ({reason}: {message}) and no pod is left with its exit status",
                        self.namespace
                    ),
                },
            });
        }
        let suspended = job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false);
        Ok(match (suspended, started_evidence(&job)) {
            (true, Some(_)) => ExecState::Suspended,
            (true, None) => ExecState::Waiting,
            (false, _) => ExecState::Running,
        })
    }

    fn cancel(&self, handle: &Handle) -> Result<(), ExecError> {
        let name = self.job_of(handle)?;
        if let Ok(mut c) = self.cancelled.lock() {
            c.insert(name.clone());
        }
        let (api, n) = (self.jobs.clone(), name.clone());
        match self.write(
            &name,
            async move { api.delete(&n, &DeleteParams::background()).await },
            |_| None,
        )? {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_not_found() => {}
            Err(e) => return Err(self.api_err("cannot delete", &name, &e)),
        }
        lock(&self.cache).observed(&name, None);
        Ok(())
    }

    fn suspend(&self, handle: &Handle) -> Result<(), ExecError> {
        let name = self.job_of(handle)?;
        self.patch(
            &name,
            "cannot suspend",
            serde_json::json!({"spec": {"suspend": true}}),
        )
        .map(|_| ())
    }

    fn resume(&self, handle: &Handle) -> Result<(), ExecError> {
        let name = self.job_of(handle)?;
        self.patch(
            &name,
            "cannot resume",
            serde_json::json!({"spec": {"suspend": false}}),
        )
        .map(|_| ())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_dns_labels() {
        assert_eq!(job_name("01JABCDEF"), "kite-01jabcdef");
        assert_eq!(job_name("a_b.c"), "kite-a-b-c");
        let long = job_name(&"x".repeat(100));
        assert_eq!(long.len(), 63);
        assert_eq!(label_value("-a b-"), "a_b");
    }

    #[test]
    fn active_deadline_is_positive() {
        let t: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(active_deadline(t, t), 1);
        assert_eq!(
            active_deadline(t, t + kite_core::SignedDuration::from_hours(1)),
            3600
        );
    }
}
