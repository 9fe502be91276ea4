//! A fake Kubernetes API server for the Kubernetes executor's tests: no real API server can run
//! on kite's CI machines (no container runtime, no kube-apiserver package), so this one answers
//! the `batch/v1` Job and `v1` Pod calls the `kube` client makes, shaped like a real server's
//! answers, over real HTTP on `127.0.0.1`.
//!
//! What it does like a real API server:
//! - `POST/GET/PATCH/DELETE /apis/batch/v1/namespaces/{ns}/jobs[/{name}]` and
//!   `GET /api/v1/namespaces/{ns}/pods[?labelSelector=k=v,...]`;
//! - objects get `metadata.uid`, `resourceVersion` (bumped on every write, status writes
//!   included), `generation`, `creationTimestamp`, and the defaults a server adds (`selector`
//!   on `batch.kubernetes.io/controller-uid`, the pod template's `job-name` labels, ...);
//! - errors are `Status` objects (`kind: Status`, `reason` `NotFound` / `AlreadyExists` /
//!   `Conflict` / `Invalid` / `UnsupportedMediaType`, `code`); a merge patch carrying a stale
//!   `metadata.resourceVersion` is refused with `409 Conflict`;
//! - `DELETE` without `propagationPolicy` orphans the pods, as the `batch/v1` default does;
//! - `GET .../jobs?watch=true&labelSelector=...&resourceVersion=N[&allowWatchBookmarks=true]
//!   [&timeoutSeconds=S]` streams watch events as a real server does: `200` with a chunked
//!   `application/json` body, one `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":...}`
//!   per line, every Job write (status writes included) one event whose object carries the
//!   write's `resourceVersion`; from `N` it replays the retained events after `N`, from an
//!   unset or `0` version it sends the current Jobs as synthetic `ADDED`s; a version older than
//!   the retained history is answered with one `ERROR` event carrying a `410 Expired` `Status`
//!   (`too old resource version: N (M)`) and the stream ends; `BOOKMARK`s (an object of kind
//!   `Job` with only `metadata.resourceVersion`) are sent when asked for and the store moved on;
//!   the stream ends after `timeoutSeconds`. A LIST carries the list's `metadata.resourceVersion`.
//!
//! What it simulates of the cluster: a *controller* that keeps `status` (the `Suspended`
//! condition, `startTime`, `active`, `succeeded` / `failed`, `Complete` / `Failed` conditions,
//! `activeDeadlineSeconds`) and a *kubelet* that, in [`KubeApi::start`] mode, runs each pod's
//! container command as a local process (the image is ignored) and records its exit code.
//! In [`KubeApi::start_manual`] mode no process runs and the test ends jobs with
//! [`KubeApi::finish`]. Suspending a running Job deletes its pods (kills the process group),
//! as Kubernetes does.
//!
//! Faults: [`KubeApi::fail_with`] answers every request with a `Status` of that code (and ends
//! the open watches); point a client at [`crate::unreachable_base_url`] for a refused
//! connection. Watch faults: [`KubeApi::drop_watches`] ends every open watch stream,
//! [`KubeApi::hold_watches`] also leaves new watch requests unanswered until released (the
//! client is disconnected while the test changes Jobs), and [`KubeApi::set_history_limit`]
//! makes the server forget old events (a watch from before them gets `410 Expired`). Every request is
//! recorded ([`KubeApi::requests`]) with its method, path, query, content type and body.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use kite_core::{Clock, SystemClock};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct KubeRequest {
    /// `GET`, `POST`, `PATCH`, `DELETE`.
    pub method: String,
    /// The path.
    pub path: String,
    /// The raw query string (empty if none).
    pub query: String,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body as JSON (`Null` when empty or not JSON).
    pub body: Value,
    /// The `Authorization` header, if any (to check the bearer token is sent).
    pub authorization: Option<String>,
}

/// One open watch.
struct Watcher {
    namespace: String,
    selector: String,
    tx: tokio::sync::mpsc::UnboundedSender<String>,
    bookmarks: bool,
    /// The newest `resourceVersion` this watcher was sent (event or bookmark).
    sent: u64,
    last_bookmark: Instant,
    /// `timeoutSeconds`: the server ends the stream then.
    until: Instant,
}

/// One recorded Job event.
struct Event {
    rv: u64,
    namespace: String,
    kind: &'static str,
    object: Value,
}

/// Events a server keeps by default (a real one keeps a few minutes' worth).
const HISTORY: usize = 10_000;

#[derive(Default)]
struct Inner {
    /// `(namespace, name)` → Job object.
    jobs: BTreeMap<(String, String), Value>,
    /// `(namespace, name)` → Pod object.
    pods: BTreeMap<(String, String), Value>,
    /// Pod name → its running process (kubelet mode).
    procs: BTreeMap<String, Child>,
    rv: u64,
    uids: u64,
    requests: Vec<KubeRequest>,
    fault: Option<u16>,
    run_commands: bool,
    /// Job events, oldest first, for watches from a `resourceVersion`.
    history: VecDeque<Event>,
    /// How many events `history` keeps (0: the default, [`HISTORY`]).
    history_limit: usize,
    /// The newest `resourceVersion` that fell out of `history`: watching from before it is `410`.
    compacted: u64,
    watchers: Vec<Watcher>,
    /// While set, watch requests wait unanswered.
    watches_held: bool,
    /// How often a watcher that asked for bookmarks gets one when the store moved on.
    bookmark_every: Duration,
    bookmarks_sent: usize,
}

type Shared = Arc<Mutex<Inner>>;

/// A running fake API server with its own runtime; stops (and kills every pod process) on drop.
pub struct KubeApi {
    /// `http://127.0.0.1:<port>`: the executor's `server`.
    pub base_url: String,
    inner: Shared,
    rt: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for KubeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeApi")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

fn now() -> String {
    // Kubernetes writes whole seconds in UTC.
    let t = SystemClock.now();
    jiff::Timestamp::from_second(t.as_second())
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn lock(inner: &Shared) -> MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(|p| p.into_inner())
}

impl KubeApi {
    /// Starts the server with a kubelet that runs pod commands as local processes.
    ///
    /// # Panics
    /// If no runtime can be built or `127.0.0.1:0` cannot be bound.
    pub fn start() -> KubeApi {
        KubeApi::spawn(true)
    }

    /// Starts the server without a kubelet: pods stay `Running` until [`KubeApi::finish`].
    ///
    /// # Panics
    /// As [`KubeApi::start`].
    pub fn start_manual() -> KubeApi {
        KubeApi::spawn(false)
    }

    fn spawn(run_commands: bool) -> KubeApi {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the fake API server");
        let inner: Shared = Arc::new(Mutex::new(Inner {
            run_commands,
            bookmark_every: Duration::from_millis(200),
            ..Inner::default()
        }));
        let router = Router::new().fallback(handle).with_state(inner.clone());
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0 for the fake API server");
        let addr = listener.local_addr().expect("local address");
        rt.spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let ticker = inner.clone();
        rt.spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                tick(&mut lock(&ticker));
            }
        });
        KubeApi {
            base_url: format!("http://{addr}"),
            inner,
            rt: Some(rt),
        }
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<KubeRequest> {
        lock(&self.inner).requests.clone()
    }

    /// A stored Job as the server would return it.
    pub fn job(&self, namespace: &str, name: &str) -> Option<Value> {
        lock(&self.inner)
            .jobs
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    /// How many Jobs the namespace holds.
    pub fn job_count(&self, namespace: &str) -> usize {
        lock(&self.inner)
            .jobs
            .keys()
            .filter(|(ns, _)| ns == namespace)
            .count()
    }

    /// Stores a Job as if someone else had created it (for name clashes).
    pub fn insert_job(&self, namespace: &str, job: Value) {
        let mut g = lock(&self.inner);
        let name = job["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let obj = g.admit_job(namespace, job);
        g.put_job(namespace, &name, obj, "ADDED");
    }

    /// As the controller: ends the Job's active pod with `exit_code` (0: `Complete`, else
    /// `Failed`). Returns whether there was an active pod.
    pub fn finish(&self, namespace: &str, name: &str, exit_code: i32) -> bool {
        let mut g = lock(&self.inner);
        let pod = g
            .pods
            .iter()
            .find(|((ns, _), p)| {
                ns == namespace
                    && p["metadata"]["labels"]["job-name"] == name
                    && p["status"]["phase"] == "Running"
            })
            .map(|(k, _)| k.clone());
        match pod {
            Some((_, pod)) => {
                if let Some(mut c) = g.procs.remove(&pod) {
                    kill_group(&mut c);
                }
                g.pod_exited(namespace, &pod, exit_code);
                true
            }
            None => false,
        }
    }

    /// Answers every request with a `Status` of this HTTP code (`None`: back to normal).
    /// A failing server also ends its open watches (their clients then get the error too).
    pub fn fail_with(&self, code: Option<u16>) {
        let mut g = lock(&self.inner);
        g.fault = code;
        if code.is_some() {
            g.watchers.clear();
        }
    }

    /// Ends every open watch stream now (a load balancer or API server restart dropping them).
    pub fn drop_watches(&self) {
        lock(&self.inner).watchers.clear();
    }

    /// `true`: ends every open watch and leaves new watch requests unanswered until `false`,
    /// when they are answered from the version they asked for (events in between included).
    pub fn hold_watches(&self, hold: bool) {
        let mut g = lock(&self.inner);
        g.watches_held = hold;
        if hold {
            g.watchers.clear();
        }
    }

    /// Keeps only the last `events` Job events (at least 1); a watch from before them gets an
    /// `ERROR` event with `410 Expired`, as from a compacted etcd.
    pub fn set_history_limit(&self, events: usize) {
        let mut g = lock(&self.inner);
        g.history_limit = events.max(1);
        g.trim_history();
    }

    /// Deletes a Job as `kubectl delete job` would (background propagation: its pods go too).
    /// Returns whether it existed.
    pub fn delete_job(&self, namespace: &str, name: &str) -> bool {
        lock(&self.inner)
            .delete_job(namespace, name, false)
            .is_some()
    }

    /// How many `BOOKMARK` events were sent so far.
    pub fn bookmarks_sent(&self) -> usize {
        lock(&self.inner).bookmarks_sent
    }

    /// How many watch streams are open.
    pub fn watch_count(&self) -> usize {
        lock(&self.inner).watchers.len()
    }

    /// The store's current `resourceVersion` (of its last write).
    pub fn resource_version(&self) -> u64 {
        lock(&self.inner).rv
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        let mut g = lock(&self.inner);
        for (_, mut c) in std::mem::take(&mut g.procs) {
            kill_group(&mut c);
        }
        drop(g);
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn kill_group(c: &mut Child) {
    if let Ok(pid) = i32::try_from(c.id()) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = c.wait();
}

/// A `Status` error object, as the API server sends it.
fn status(code: u16, reason: &str, message: String, details: Value) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason,
        "details": details, "code": code,
    });
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn not_found(kind: &str, group: &str, name: &str) -> Response {
    let plural = if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    };
    status(
        404,
        "NotFound",
        format!("{plural} \"{name}\" not found"),
        json!({"name": name, "group": group, "kind": kind}),
    )
}

fn ok(code: StatusCode, body: &Value) -> Response {
    (
        code,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// RFC 7386 JSON merge patch.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

fn set_condition(job: &mut Value, ty: &str, st: &str, reason: &str, message: &str) {
    let at = now();
    let conds = &mut job["status"]["conditions"];
    if !conds.is_array() {
        *conds = json!([]);
    }
    let Some(list) = conds.as_array_mut() else {
        return;
    };
    let new = json!({
        "type": ty, "status": st, "reason": reason, "message": message,
        "lastProbeTime": at, "lastTransitionTime": at,
    });
    match list.iter_mut().find(|c| c["type"] == ty) {
        Some(c) if c["status"] == st => {}
        Some(c) => *c = new,
        None => list.push(new),
    }
}

fn has_condition(job: &Value, ty: &str) -> bool {
    job["status"]["conditions"]
        .as_array()
        .is_some_and(|l| l.iter().any(|c| c["type"] == ty && c["status"] == "True"))
}

fn finished(job: &Value) -> bool {
    has_condition(job, "Complete") || has_condition(job, "Failed")
}

impl Inner {
    fn next_rv(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    fn next_uid(&mut self) -> String {
        self.uids += 1;
        format!("7f3c2a10-0000-4000-8000-{:012x}", self.uids)
    }

    /// Stores a written Job and tells the watches (`ADDED` / `MODIFIED`).
    fn put_job(&mut self, ns: &str, name: &str, job: Value, kind: &'static str) {
        self.emit(ns, kind, &job);
        self.jobs.insert((ns.to_owned(), name.to_owned()), job);
    }

    /// Records a Job event and sends it to the matching watches.
    fn emit(&mut self, ns: &str, kind: &'static str, object: &Value) {
        let rv = object["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.rv);
        let line = event_line(kind, object);
        self.watchers.retain_mut(|w| {
            if w.namespace != ns || !selector_matches(&object["metadata"]["labels"], &w.selector) {
                return true;
            }
            w.sent = rv;
            w.tx.send(line.clone()).is_ok()
        });
        self.history.push_back(Event {
            rv,
            namespace: ns.to_owned(),
            kind,
            object: object.clone(),
        });
        self.trim_history();
    }

    fn trim_history(&mut self) {
        let limit = if self.history_limit == 0 {
            HISTORY
        } else {
            self.history_limit
        };
        while self.history.len() > limit {
            if let Some(e) = self.history.pop_front() {
                self.compacted = e.rv;
            }
        }
    }

    /// What the server stores for a new Job: metadata and the defaults it fills in.
    fn admit_job(&mut self, ns: &str, mut job: Value) -> Value {
        let uid = self.next_uid();
        let name = job["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        job["metadata"]["namespace"] = json!(ns);
        job["metadata"]["uid"] = json!(uid);
        job["metadata"]["resourceVersion"] = json!(self.next_rv());
        job["metadata"]["generation"] = json!(1);
        job["metadata"]["creationTimestamp"] = json!(now());
        let spec = &mut job["spec"];
        for (k, v) in [
            ("parallelism", json!(1)),
            ("completions", json!(1)),
            ("backoffLimit", json!(6)),
            ("completionMode", json!("NonIndexed")),
            ("suspend", json!(false)),
            ("podReplacementPolicy", json!("TerminatingOrFailed")),
        ] {
            if spec.get(k).is_none_or(Value::is_null) {
                spec[k] = v;
            }
        }
        spec["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
        let labels = &mut spec["template"]["metadata"]["labels"];
        for (k, v) in [
            ("batch.kubernetes.io/controller-uid", &uid),
            ("batch.kubernetes.io/job-name", &name),
            ("controller-uid", &uid),
            ("job-name", &name),
        ] {
            labels[k] = json!(v);
        }
        let pod = &mut spec["template"]["spec"];
        pod["dnsPolicy"] = json!("ClusterFirst");
        pod["schedulerName"] = json!("default-scheduler");
        pod["terminationGracePeriodSeconds"] = json!(30);
        if let Some(cs) = pod["containers"].as_array_mut() {
            for c in cs {
                c["terminationMessagePath"] = json!("/dev/termination-log");
                c["terminationMessagePolicy"] = json!("File");
                c["imagePullPolicy"] = json!("IfNotPresent");
            }
        }
        job["status"] = json!({});
        job
    }

    /// The controller's reaction to a Job's spec: suspend / resume, pods, `startTime`.
    fn sync(&mut self, ns: &str, name: &str) {
        let key = (ns.to_owned(), name.to_owned());
        let Some(mut job) = self.jobs.get(&key).cloned() else {
            return;
        };
        if finished(&job) {
            return;
        }
        let before = job["status"].clone();
        let suspended = job["spec"]["suspend"] == true;
        let active_pods: Vec<String> = self
            .pods
            .iter()
            .filter(|((pns, _), p)| {
                pns == ns
                    && p["metadata"]["labels"]["controller-uid"] == job["metadata"]["uid"]
                    && p["status"]["phase"] == "Running"
            })
            .map(|((_, n), _)| n.clone())
            .collect();
        if suspended {
            for p in &active_pods {
                self.delete_pod(ns, p);
            }
            if let Some(s) = job["status"].as_object_mut() {
                // Omitted when zero, like the real API's `omitempty`.
                s.remove("active");
                s.remove("startTime");
            }
            set_condition(
                &mut job,
                "Suspended",
                "True",
                "JobSuspended",
                "Job suspended",
            );
        } else {
            if has_condition(&job, "Suspended") {
                set_condition(&mut job, "Suspended", "False", "JobResumed", "Job resumed");
            }
            if job["status"].get("startTime").is_none() {
                job["status"]["startTime"] = json!(now());
            }
            let done = job["status"]["succeeded"].as_i64().unwrap_or(0)
                + job["status"]["failed"].as_i64().unwrap_or(0);
            if active_pods.is_empty() && done == 0 {
                self.create_pod(ns, &job);
            }
            job["status"]["active"] = json!(1);
        }
        if job["status"] != before {
            job["metadata"]["resourceVersion"] = json!(self.next_rv());
            self.put_job(ns, name, job, "MODIFIED");
        }
    }

    fn create_pod(&mut self, ns: &str, job: &Value) {
        let job_name = job["metadata"]["name"].as_str().unwrap_or_default();
        self.uids += 1;
        let pod_name = format!("{job_name}-{:05x}", self.uids & 0xfffff);
        let uid = self.next_uid();
        let tmpl = &job["spec"]["template"];
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": pod_name, "namespace": ns, "uid": uid,
                "resourceVersion": self.next_rv(), "creationTimestamp": now(),
                "labels": tmpl["metadata"]["labels"],
                "ownerReferences": [{
                    "apiVersion": "batch/v1", "kind": "Job", "name": job_name,
                    "uid": job["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
                }],
            },
            "spec": tmpl["spec"],
            "status": {
                "phase": "Running", "startTime": now(),
                "containerStatuses": tmpl["spec"]["containers"].as_array().map(|cs| cs.iter().map(|c| json!({
                    "name": c["name"], "image": c["image"], "ready": true, "restartCount": 0,
                    "started": true, "state": {"running": {"startedAt": now()}},
                })).collect::<Vec<_>>()),
            },
        });
        if self.run_commands {
            let argv: Vec<String> = tmpl["spec"]["containers"][0]["command"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if let Some((prog, args)) = argv.split_first() {
                let spawned = {
                    use std::os::unix::process::CommandExt;
                    Command::new(prog)
                        .args(args)
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .process_group(0)
                        .spawn()
                };
                match spawned {
                    Ok(child) => {
                        self.procs.insert(pod_name.clone(), child);
                    }
                    Err(_) => {
                        // The kubelet's StartError: the container never ran.
                        self.pods.insert((ns.to_owned(), pod_name.clone()), pod);
                        self.pod_exited(ns, &pod_name, 128);
                        return;
                    }
                }
            }
        }
        self.pods.insert((ns.to_owned(), pod_name), pod);
    }

    fn delete_pod(&mut self, ns: &str, pod: &str) {
        if let Some(mut c) = self.procs.remove(pod) {
            kill_group(&mut c);
        }
        self.pods.remove(&(ns.to_owned(), pod.to_owned()));
    }

    /// A pod's container ended: the pod's status, then the Job's counters and conditions.
    fn pod_exited(&mut self, ns: &str, pod: &str, code: i32) {
        let rv = self.next_rv();
        let Some(p) = self.pods.get_mut(&(ns.to_owned(), pod.to_owned())) else {
            return;
        };
        let at = now();
        p["metadata"]["resourceVersion"] = json!(rv);
        p["status"]["phase"] = json!(if code == 0 { "Succeeded" } else { "Failed" });
        if let Some(cs) = p["status"]["containerStatuses"].as_array_mut() {
            for c in cs {
                c["ready"] = json!(false);
                c["started"] = json!(false);
                c["state"] = json!({"terminated": {
                    "exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" },
                    "startedAt": at, "finishedAt": at,
                }});
            }
        }
        let job_name = p["metadata"]["labels"]["job-name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let key = (ns.to_owned(), job_name);
        let Some(mut job) = self.jobs.get(&key).cloned() else {
            return;
        };
        job["status"]["active"] = json!(0);
        job["status"]["ready"] = json!(0);
        job["status"]["terminating"] = json!(0);
        job["status"]["uncountedTerminatedPods"] = json!({});
        if code == 0 {
            job["status"]["succeeded"] = json!(1);
            job["status"]["completionTime"] = json!(at);
            set_condition(
                &mut job,
                "SuccessCriteriaMet",
                "True",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            );
            set_condition(
                &mut job,
                "Complete",
                "True",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
            );
        } else {
            job["status"]["failed"] = json!(1);
            let msg = "Job has reached the specified backoff limit";
            set_condition(
                &mut job,
                "FailureTarget",
                "True",
                "BackoffLimitExceeded",
                msg,
            );
            set_condition(&mut job, "Failed", "True", "BackoffLimitExceeded", msg);
        }
        job["metadata"]["resourceVersion"] = json!(self.next_rv());
        self.put_job(ns, &key.1, job, "MODIFIED");
    }

    fn delete_job(&mut self, ns: &str, name: &str, orphan: bool) -> Option<Value> {
        let mut job = self.jobs.remove(&(ns.to_owned(), name.to_owned()))?;
        // The deletion is a write: the `DELETED` event carries its own `resourceVersion`.
        job["metadata"]["resourceVersion"] = json!(self.next_rv());
        self.emit(ns, "DELETED", &job);
        if !orphan {
            let pods: Vec<String> = self
                .pods
                .iter()
                .filter(|((pns, _), p)| {
                    pns == ns && p["metadata"]["labels"]["controller-uid"] == job["metadata"]["uid"]
                })
                .map(|((_, n), _)| n.clone())
                .collect();
            for p in pods {
                self.delete_pod(ns, &p);
            }
        }
        Some(job)
    }
}

/// The kubelet and controller loop: reaps processes, enforces `activeDeadlineSeconds`.
fn tick(g: &mut Inner) {
    let mut exited = Vec::new();
    for (pod, c) in &mut g.procs {
        if let Ok(Some(st)) = c.try_wait() {
            use std::os::unix::process::ExitStatusExt;
            let code = st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
            exited.push((pod.clone(), code));
        }
    }
    for (pod, code) in exited {
        g.procs.remove(&pod);
        let ns = g
            .pods
            .keys()
            .find(|(_, n)| *n == pod)
            .map(|(ns, _)| ns.clone());
        if let Some(ns) = ns {
            g.pod_exited(&ns, &pod, code);
        }
    }
    let now_s = SystemClock.now().as_second();
    let overdue: Vec<(String, String)> = g
        .jobs
        .iter()
        .filter(|(_, j)| !finished(j) && j["spec"]["suspend"] != true)
        .filter(|(_, j)| {
            let start = j["status"]["startTime"]
                .as_str()
                .and_then(|s| s.parse::<jiff::Timestamp>().ok());
            match (start, j["spec"]["activeDeadlineSeconds"].as_i64()) {
                (Some(s), Some(d)) => now_s >= s.as_second() + d,
                _ => false,
            }
        })
        .map(|(k, _)| k.clone())
        .collect();
    for (ns, name) in overdue {
        let pods: Vec<String> = g
            .pods
            .keys()
            .filter(|(pns, p)| *pns == ns && p.starts_with(&format!("{name}-")))
            .map(|(_, p)| p.clone())
            .collect();
        for p in pods {
            g.delete_pod(&ns, &p);
        }
        if let Some(mut job) = g.jobs.get(&(ns.clone(), name.clone())).cloned() {
            job["status"]["active"] = json!(0);
            job["status"]["failed"] = json!(1);
            let msg = "Job was active longer than specified deadline";
            set_condition(&mut job, "FailureTarget", "True", "DeadlineExceeded", msg);
            set_condition(&mut job, "Failed", "True", "DeadlineExceeded", msg);
            job["metadata"]["resourceVersion"] = json!(g.next_rv());
            g.put_job(&ns, &name, job, "MODIFIED");
        }
    }
    bookmarks_and_timeouts(g);
}

/// Ends watches past their `timeoutSeconds`; sends a `BOOKMARK` to a watcher that asked for them
/// when the store moved past what it was last sent (writes it does not watch).
fn bookmarks_and_timeouts(g: &mut Inner) {
    let now = Instant::now();
    let (rv, every) = (g.rv, g.bookmark_every);
    let mut sent = 0;
    g.watchers.retain_mut(|w| {
        if now >= w.until || w.tx.is_closed() {
            return false;
        }
        if !w.bookmarks || rv <= w.sent || now.duration_since(w.last_bookmark) < every {
            return true;
        }
        w.sent = rv;
        w.last_bookmark = now;
        let bookmark = json!({
            "kind": "Job", "apiVersion": "batch/v1",
            "metadata": {"resourceVersion": rv.to_string()},
        });
        sent += 1;
        w.tx.send(event_line("BOOKMARK", &bookmark)).is_ok()
    });
    g.bookmarks_sent += sent;
}

/// One watch event as the server writes it: a JSON object on its own line.
fn event_line(kind: &str, object: &Value) -> String {
    let mut line = json!({"type": kind, "object": object}).to_string();
    line.push('\n');
    line
}

fn selector_matches(labels: &Value, selector: &str) -> bool {
    selector
        .split(',')
        .filter(|s| !s.is_empty())
        .all(|term| match term.split_once('=') {
            Some((k, v)) => labels[k] == v.trim_start_matches('='),
            None => labels.get(term).is_some(),
        })
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Why a Job would be refused with `422 Invalid`, if it would.
fn invalid_job(job: &Value, name: &str) -> Option<String> {
    if !is_dns_label(name) {
        return Some(format!(
            "metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
        ));
    }
    let spec = &job["spec"];
    let pod = &spec["template"]["spec"];
    let rp = pod["restartPolicy"].as_str().unwrap_or("Always");
    if rp != "Never" && rp != "OnFailure" {
        return Some(format!(
            "spec.template.spec.restartPolicy: Unsupported value: \"{rp}\": supported values: \"OnFailure\", \"Never\""
        ));
    }
    let containers = pod["containers"].as_array().map_or(0, Vec::len);
    if containers == 0 {
        return Some("spec.template.spec.containers: Required value".into());
    }
    if pod["containers"][0]["image"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        return Some("spec.template.spec.containers[0].image: Required value".into());
    }
    if let Some(d) = spec["activeDeadlineSeconds"].as_i64()
        && d <= 0
    {
        return Some(format!(
            "spec.activeDeadlineSeconds: Invalid value: {d}: must be greater than 0"
        ));
    }
    None
}

/// A watch on the namespace's Jobs: waits while watches are held, then answers `200` with a
/// stream of event lines (replayed from `resourceVersion`, then live) until `timeoutSeconds`.
async fn watch(inner: Shared, ns: String, query: &str) -> Response {
    loop {
        let held = lock(&inner).watches_held;
        if !held {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let selector = query_param(query, "labelSelector").unwrap_or_default();
    let bookmarks = query_param(query, "allowWatchBookmarks").as_deref() == Some("true");
    // A real server picks a random timeout of 30 to 60 minutes when none is asked for.
    let timeout = query_param(query, "timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(1800);
    let from = query_param(query, "resourceVersion").unwrap_or_default();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut g = lock(&inner);
    if let Some(code) = g.fault {
        return status(
            code,
            "InternalError",
            "Internal error occurred: injected by the test".into(),
            json!({}),
        );
    }
    let matches =
        |n: &str, o: &Value| n == ns && selector_matches(&o["metadata"]["labels"], &selector);
    let mut open = true;
    if from.is_empty() || from == "0" {
        // "Start at most recent" / "any": the current objects as synthetic ADDED events first.
        for ((n, _), j) in &g.jobs {
            if matches(n, j) {
                let _ = tx.send(event_line("ADDED", j));
            }
        }
    } else {
        let Ok(since) = from.parse::<u64>() else {
            return status(
                400,
                "BadRequest",
                format!(
                    "resourceVersion: Invalid value: \"{from}\": must be a valid resource version"
                ),
                json!({}),
            );
        };
        if since < g.compacted {
            let expired = json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Failure",
                "message": format!("too old resource version: {since} ({})", g.compacted),
                "reason": "Expired", "code": 410,
            });
            let _ = tx.send(event_line("ERROR", &expired));
            open = false;
        } else {
            for e in g.history.iter().filter(|e| e.rv > since) {
                if matches(&e.namespace, &e.object) {
                    let _ = tx.send(event_line(e.kind, &e.object));
                }
            }
        }
    }
    if open {
        let now = Instant::now();
        let sent = g.rv;
        g.watchers.push(Watcher {
            namespace: ns.clone(),
            selector,
            tx,
            bookmarks,
            sent,
            last_bookmark: now,
            until: now + Duration::from_secs(timeout),
        });
    } else {
        drop(tx);
    }
    drop(g);
    let lines = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|line| line.map(|l| Ok::<_, std::convert::Infallible>(Bytes::from(l))))
    });
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        Body::from_stream(lines),
    )
        .into_response()
}

async fn handle(
    State(inner): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = uri.query().unwrap_or("").to_owned();
    let watched_ns = match uri.path().trim_matches('/').split('/').collect::<Vec<_>>()[..] {
        ["apis", "batch", "v1", "namespaces", ns, "jobs"]
            if method == Method::GET
                && matches!(query_param(&query, "watch").as_deref(), Some("true" | "1")) =>
        {
            Some(ns.to_owned())
        }
        _ => None,
    };
    let request = KubeRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: query.clone(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(String::from),
    };
    match watched_ns {
        Some(ns) => {
            lock(&inner).requests.push(request);
            watch(inner, ns, &query).await
        }
        None => respond(&inner, &method, &uri, request),
    }
}

/// Every request but a watch: answered at once, under the lock.
fn respond(inner: &Shared, method: &Method, uri: &Uri, request: KubeRequest) -> Response {
    let (content_type, body, query) = (
        request.content_type.clone(),
        request.body.clone(),
        request.query.clone(),
    );
    let mut g = lock(inner);
    g.requests.push(request);
    if let Some(code) = g.fault {
        return status(
            code,
            "InternalError",
            "Internal error occurred: injected by the test".into(),
            json!({}),
        );
    }
    let parts: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["apis", "batch", "v1", "namespaces", ns, "jobs"]) => {
            let name = body["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if body["kind"] != "Job" || body["apiVersion"] != "batch/v1" {
                return status(
                    400,
                    "BadRequest",
                    format!(
                        "the object is not a batch/v1 Job: kind {}, apiVersion {}",
                        body["kind"], body["apiVersion"]
                    ),
                    json!({}),
                );
            }
            if let Some(msg) = invalid_job(&body, &name) {
                return status(
                    422,
                    "Invalid",
                    format!("Job.batch \"{name}\" is invalid: {msg}"),
                    json!({"name": name, "group": "batch", "kind": "Job"}),
                );
            }
            let key = ((*ns).to_owned(), name.clone());
            if g.jobs.contains_key(&key) {
                return status(
                    409,
                    "AlreadyExists",
                    format!("jobs.batch \"{name}\" already exists"),
                    json!({"name": name, "group": "batch", "kind": "jobs"}),
                );
            }
            let obj = g.admit_job(ns, body);
            g.put_job(ns, &name, obj.clone(), "ADDED");
            // The controller acts after the create answer is formed, as in a real cluster.
            g.sync(ns, &name);
            ok(StatusCode::CREATED, &obj)
        }
        ("GET", ["apis", "batch", "v1", "namespaces", ns, "jobs"]) => {
            let selector = query_param(&query, "labelSelector").unwrap_or_default();
            let items: Vec<Value> = g
                .jobs
                .iter()
                .filter(|((n, _), j)| {
                    n == ns && selector_matches(&j["metadata"]["labels"], &selector)
                })
                .map(|(_, j)| j.clone())
                .collect();
            let rv = g.rv.to_string();
            ok(
                StatusCode::OK,
                &json!({"kind": "JobList", "apiVersion": "batch/v1", "metadata": {"resourceVersion": rv}, "items": items}),
            )
        }
        ("GET", ["apis", "batch", "v1", "namespaces", ns, "jobs", name]) => {
            match g.jobs.get(&((*ns).to_owned(), (*name).to_owned())) {
                Some(j) => ok(StatusCode::OK, j),
                None => not_found("jobs", "batch", name),
            }
        }
        ("PATCH", ["apis", "batch", "v1", "namespaces", ns, "jobs", name]) => {
            let ct = content_type.unwrap_or_default();
            if ct != "application/merge-patch+json"
                && ct != "application/strategic-merge-patch+json"
            {
                return status(
                    415,
                    "UnsupportedMediaType",
                    format!(
                        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {ct:?})"
                    ),
                    json!({}),
                );
            }
            let key = ((*ns).to_owned(), (*name).to_owned());
            let Some(mut job) = g.jobs.get(&key).cloned() else {
                return not_found("jobs", "batch", name);
            };
            if let Some(rv) = body["metadata"]["resourceVersion"].as_str()
                && Some(rv) != job["metadata"]["resourceVersion"].as_str()
            {
                return status(
                    409,
                    "Conflict",
                    format!(
                        "Operation cannot be fulfilled on jobs.batch \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
                    ),
                    json!({"name": name, "group": "batch", "kind": "jobs"}),
                );
            }
            let spec_before = job["spec"].clone();
            merge(&mut job, &body);
            if job["spec"] != spec_before {
                let generation = job["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
                job["metadata"]["generation"] = json!(generation);
            }
            job["metadata"]["resourceVersion"] = json!(g.next_rv());
            g.put_job(ns, name, job.clone(), "MODIFIED");
            g.sync(ns, name);
            ok(StatusCode::OK, &job)
        }
        ("DELETE", ["apis", "batch", "v1", "namespaces", ns, "jobs", name]) => {
            let policy = body["propagationPolicy"].as_str().unwrap_or("Orphan");
            match g.delete_job(ns, name, policy == "Orphan") {
                Some(job) => ok(
                    StatusCode::OK,
                    &json!({
                        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                        "details": {"name": name, "group": "batch", "kind": "jobs", "uid": job["metadata"]["uid"]},
                    }),
                ),
                None => not_found("jobs", "batch", name),
            }
        }
        ("GET", ["api", "v1", "namespaces", ns, "pods"]) => {
            let selector = query_param(&query, "labelSelector").unwrap_or_default();
            let items: Vec<Value> = g
                .pods
                .iter()
                .filter(|((n, _), p)| {
                    n == ns && selector_matches(&p["metadata"]["labels"], &selector)
                })
                .map(|(_, p)| p.clone())
                .collect();
            let rv = g.rv.to_string();
            ok(
                StatusCode::OK,
                &json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": rv}, "items": items}),
            )
        }
        ("GET", ["api", "v1", "namespaces", ns, "pods", name]) => {
            match g.pods.get(&((*ns).to_owned(), (*name).to_owned())) {
                Some(p) => ok(StatusCode::OK, p),
                None => not_found("pods", "", name),
            }
        }
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource".into(),
            json!({}),
        ),
    }
}
