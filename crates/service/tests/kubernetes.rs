//! The Kubernetes executor against a fake API server on 127.0.0.1 (`kite_test_support::kube_api`):
//! no real API server can run on kite's CI machines, so these tests check the executor's HTTP
//! conversation and its reading of Job objects shaped like a real server's; a real cluster is
//! a manual check (docs/service.md, "Kubernetes").
#![allow(clippy::unwrap_used)]

mod util;

use kite_core::{Clock, SignedDuration, SystemClock, Timestamp};
use kite_service::kubernetes::{ANNOTATION_PLANNED_START, LABEL_JOB_ID, job_name};
use kite_service::{
    ExecError, ExecState, Executor, Handle, KubernetesConfig, KubernetesExecutor, conformance,
};
use kite_test_support::kube_api::KubeApi;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const NS: &str = "kite-jobs";

fn config(server: &str) -> KubernetesConfig {
    let pool = |region: &str| {
        BTreeMap::from([(
            "topology.kubernetes.io/region".to_owned(),
            region.to_owned(),
        )])
    };
    KubernetesConfig {
        name: "k8s-eu".into(),
        server: Some(server.into()),
        kubeconfig: None,
        context: None,
        token: Some(kite_service::kubernetes::KubeToken::new("test-token")),
        token_file: None,
        certificate_authority: None,
        namespace: NS.into(),
        image: "busybox:1.36".into(),
        node_selectors: BTreeMap::from([
            ("DE".to_owned(), pool("europe-west3")),
            ("FR".to_owned(), pool("europe-west9")),
        ]),
        service_account: Some("kite-jobs".into()),
        gpu_resource: None,
        timeout_secs: Some(5),
    }
}

fn executor(api: &KubeApi) -> KubernetesExecutor {
    KubernetesExecutor::new(config(&api.base_url)).unwrap()
}

fn launch(id: &str, region: &str, script: &str) -> kite_service::Launch {
    let mut l = conformance::launch(id, script, SystemClock.now());
    l.region = region.into();
    l
}

fn wait_for(ex: &dyn Executor, h: &Handle, want: impl Fn(&ExecState) -> bool) -> ExecState {
    wait_for_result(ex, h, |r| r.as_ref().is_ok_and(&want)).unwrap()
}

fn wait_for_result(
    ex: &dyn Executor,
    h: &Handle,
    want: impl Fn(&Result<ExecState, ExecError>) -> bool,
) -> Result<ExecState, ExecError> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let s = ex.status(h);
        if want(&s) || Instant::now() > until {
            return s;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits (at most 10 s) until `ok`; panics with `what` otherwise.
fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The Job name of a handle (`namespace/name`).
fn name_of(h: &Handle) -> &str {
    h.id.split_once('/').unwrap().1
}

/// `GET`s of one Job (`.../jobs/NAME`) among the requests from index `since` on.
fn job_gets(api: &KubeApi, since: usize, name: &str) -> usize {
    let path = format!("/apis/batch/v1/namespaces/{NS}/jobs/{name}");
    api.requests()[since..]
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .count()
}

/// Collection reads of the Jobs from index `since` on: `(lists, watches)`, each with its query.
fn job_collection_reads(api: &KubeApi, since: usize) -> Vec<(bool, String)> {
    let path = format!("/apis/batch/v1/namespaces/{NS}/jobs");
    api.requests()[since..]
        .iter()
        .filter(|r| r.method == "GET" && r.path == path)
        .map(|r| (r.query.contains("watch=true"), r.query.clone()))
        .collect()
}

/// A query parameter's raw value.
fn param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(String::from))
}

/// Waits until the watch is open and a round of `status` over `handles` answers from the cache
/// alone (no `GET` of any of their Jobs): every write of the executor has come back through the
/// watch.
fn settle(ex: &KubernetesExecutor, api: &KubeApi, handles: &[&Handle]) {
    wait_until("status answered from the watch", || {
        let mark = api.requests().len();
        for h in handles {
            ex.status(h).unwrap();
        }
        ex.watching() && handles.iter().all(|h| job_gets(api, mark, name_of(h)) == 0)
    });
}

#[test]
fn the_kubernetes_executor_is_conformant() {
    let api = KubeApi::start();
    let base = api.base_url.clone();
    let factory =
        move || -> Box<dyn Executor> { Box::new(KubernetesExecutor::new(config(&base)).unwrap()) };
    let failures = conformance::run_all(&factory, SystemClock.now(), "t");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn submit_creates_a_suspended_job_with_the_zones_node_selector() {
    let api = KubeApi::start_manual();
    let ex = executor(&api);
    let l = launch("01JOBFR", "FR", "echo hi");
    let h = ex.submit(&l).unwrap();
    assert_eq!(h.id, format!("{NS}/kite-01jobfr"));
    assert_eq!(h.executor, "k8s-eu");

    let posts: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].path,
        format!("/apis/batch/v1/namespaces/{NS}/jobs")
    );
    let body = &posts[0].body;
    assert_eq!(body["kind"], "Job");
    assert_eq!(body["apiVersion"], "batch/v1");
    assert_eq!(body["spec"]["suspend"], true);
    assert_eq!(body["spec"]["backoffLimit"], 0);
    assert_eq!(body["spec"]["activeDeadlineSeconds"], 3600);
    assert_eq!(body["metadata"]["labels"][LABEL_JOB_ID], "01JOBFR");
    assert_eq!(
        body["metadata"]["annotations"][ANNOTATION_PLANNED_START],
        l.start.to_string()
    );
    let pod = &body["spec"]["template"]["spec"];
    assert_eq!(
        pod["nodeSelector"],
        serde_json::json!({"topology.kubernetes.io/region": "europe-west9"})
    );
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["serviceAccountName"], "kite-jobs");
    assert_eq!(pod["containers"][0]["image"], "busybox:1.36");
    assert_eq!(
        pod["containers"][0]["command"],
        serde_json::json!(["sh", "-c", "echo hi"])
    );
    assert_eq!(
        pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"],
        "1"
    );
    assert_eq!(posts[0].authorization.as_deref(), Some("Bearer test-token"));
    assert_eq!(ex.status(&h).unwrap(), ExecState::Waiting);
    assert!(api.job(NS, "kite-01jobfr").is_some());
}

#[test]
fn a_zone_without_a_node_pool_is_refused_with_the_fix() {
    let api = KubeApi::start_manual();
    let ex = executor(&api);
    let e = ex
        .submit(&launch("01JOBUS", "US-CAL-CISO", "true"))
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("US-CAL-CISO") && msg.contains("node_selectors"),
        "{msg}"
    );
    assert_eq!(api.job_count(NS), 0);
}

#[test]
fn start_unsuspends_with_a_merge_patch_and_the_exit_code_comes_from_the_pod() {
    let api = KubeApi::start_manual();
    let ex = executor(&api);
    let h = ex.submit(&launch("01JOBOK", "DE", "true")).unwrap();
    let h = ex.start(&h).unwrap();
    let patch = api
        .requests()
        .into_iter()
        .rfind(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(patch.body["spec"]["suspend"], false);
    assert!(patch.body["metadata"]["resourceVersion"].is_string());
    assert_eq!(
        api.job(NS, "kite-01jobok").unwrap()["spec"]["suspend"],
        false
    );
    assert_eq!(ex.status(&h).unwrap(), ExecState::Running);
    assert!(matches!(
        ex.start(&h),
        Err(ExecError::AlreadyStarted { .. })
    ));

    // The end comes through the watch, a moment after the fake's controller wrote it.
    assert!(api.finish(NS, "kite-01jobok", 0));
    assert_eq!(
        wait_for(&ex, &h, |s| matches!(s, ExecState::Exited { .. })),
        ExecState::Exited { code: 0 }
    );

    let h2 = ex.submit(&launch("01JOBBAD", "DE", "false")).unwrap();
    let h2 = ex.start(&h2).unwrap();
    assert!(api.finish(NS, "kite-01jobbad", 7));
    assert_eq!(
        wait_for(&ex, &h2, |s| matches!(s, ExecState::Exited { .. })),
        ExecState::Exited { code: 7 }
    );
}

#[test]
fn reschedule_moves_the_annotation_of_a_held_job() {
    let api = KubeApi::start_manual();
    let ex = executor(&api);
    let l = launch("01JOBMV", "DE", "true");
    let h = ex.submit(&l).unwrap();
    let later: Timestamp = l.start + SignedDuration::from_mins(30);
    ex.reschedule(&h, later).unwrap();
    let job = api.job(NS, "kite-01jobmv").unwrap();
    assert_eq!(
        job["metadata"]["annotations"][ANNOTATION_PLANNED_START],
        later.to_string()
    );
    assert_eq!(job["spec"]["activeDeadlineSeconds"], 1800);
    assert_eq!(job["spec"]["suspend"], true);
}

#[test]
fn cancel_deletes_in_the_background_and_a_second_cancel_is_fine() {
    let api = KubeApi::start_manual();
    let ex = executor(&api);
    let h = ex.submit(&launch("01JOBCX", "DE", "sleep 30")).unwrap();
    let h = ex.start(&h).unwrap();
    ex.cancel(&h).unwrap();
    let del = api
        .requests()
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    assert_eq!(
        del.path,
        format!("/apis/batch/v1/namespaces/{NS}/jobs/kite-01jobcx")
    );
    assert_eq!(del.body["propagationPolicy"], "Background");
    assert!(api.job(NS, "kite-01jobcx").is_none());
    assert_eq!(ex.status(&h).unwrap(), ExecState::Cancelled);
    // Already gone (404): not an error.
    ex.cancel(&h).unwrap();
    // A fresh executor (after a restart) did not cancel it: the Job is lost, with the reason.
    match executor(&api).status(&h).unwrap() {
        ExecState::Lost { reason } => assert!(reason.contains("no longer exists"), "{reason}"),
        s => panic!("expected lost, got {s:?}"),
    }
}

#[test]
fn a_resubmit_adopts_the_existing_job_and_never_creates_a_second() {
    let api = KubeApi::start_manual();
    let ex = executor(&api);
    let l = launch("01JOBTWICE", "DE", "true");
    let first = ex.submit(&l).unwrap();
    let second = executor(&api).submit(&l).unwrap();
    assert_eq!(first, second);
    assert_eq!(api.job_count(NS), 1);
    let posts = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 2, "the second create was answered 409 AlreadyExists");

    // A Job of the same name that kite did not create for this job is not adopted.
    let name = job_name("01JOBOTHER");
    api.insert_job(
        NS,
        serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": {"app": "someone-else"}},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "x", "image": "busybox"}]}}},
        }),
    );
    let e = ex.submit(&launch("01JOBOTHER", "DE", "true")).unwrap_err();
    assert!(
        matches!(&e, ExecError::Backend { message, .. } if message.contains("did not create")),
        "{e}"
    );
    assert_eq!(api.job_count(NS), 2);
}

#[test]
fn suspend_deletes_the_pods_and_resume_runs_it_again() {
    let api = KubeApi::start();
    let ex = executor(&api);
    let h = ex.submit(&launch("01JOBSUS", "DE", "sleep 30")).unwrap();
    let h = ex.start(&h).unwrap();
    assert_eq!(ex.status(&h).unwrap(), ExecState::Running);
    ex.suspend(&h).unwrap();
    assert_eq!(ex.status(&h).unwrap(), ExecState::Suspended);
    let job = api.job(NS, "kite-01jobsus").unwrap();
    assert!(job["status"].get("active").is_none(), "{job:#}");
    ex.resume(&h).unwrap();
    assert_eq!(ex.status(&h).unwrap(), ExecState::Running);
    ex.cancel(&h).unwrap();
}

#[test]
fn an_unreachable_api_server_is_a_backend_error_with_the_reason() {
    let ex = KubernetesExecutor::new(config(&kite_test_support::unreachable_base_url())).unwrap();
    match ex.submit(&launch("01JOBNET", "DE", "true")) {
        Err(ExecError::Backend { executor, message }) => {
            assert_eq!(executor, "k8s-eu");
            assert!(message.contains("kite-01jobnet"), "{message}");
            assert!(message.contains("reachable"), "{message}");
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
}

#[test]
fn a_failing_api_server_mid_run_is_a_backend_error_then_recovers() {
    let api = KubeApi::start_manual();
    let ex = executor(&api);
    let h = ex.submit(&launch("01JOB500", "DE", "true")).unwrap();
    let h = ex.start(&h).unwrap();
    settle(&ex, &api, &[&h]);
    // The failing server ends the watch too; once the executor sees that, status asks the
    // server again and reports its answer.
    api.fail_with(Some(500));
    match wait_for_result(&ex, &h, Result::is_err) {
        Err(ExecError::Backend { message, .. }) => {
            assert!(message.contains("500"), "{message}");
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
    api.fail_with(None);
    assert_eq!(ex.status(&h).unwrap(), ExecState::Running);
}

#[test]
fn the_executor_works_inside_a_current_thread_runtime() {
    // `kite serve` calls executors from its current-thread runtime: no nested-runtime panic,
    // also not when the executor is dropped there.
    let api = KubeApi::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = api.base_url.clone();
    let state = rt.block_on(async move {
        let ex = KubernetesExecutor::new(config(&base)).unwrap();
        let h = ex.submit(&launch("01JOBRT", "DE", "exit 4")).unwrap();
        let h = ex.start(&h).unwrap();
        let s = wait_for(&ex, &h, |s| matches!(s, ExecState::Exited { .. }));
        drop(ex);
        s
    });
    assert_eq!(state, ExecState::Exited { code: 4 });
}

#[test]
fn the_documented_config_parses_and_unknown_keys_are_refused() {
    let text = r#"
name = "k8s-eu"
server = "https://10.0.0.1:6443"
token_file = "/etc/kite/k8s-token"
namespace = "batch"
image = "registry.example.com/kite-jobs:1"
service_account = "kite-jobs"
node_selectors = { DE = { "topology.kubernetes.io/region" = "europe-west3" } }
"#;
    let cfg: KubernetesConfig = toml::from_str(text).unwrap();
    assert_eq!(
        cfg.node_selectors["DE"]["topology.kubernetes.io/region"],
        "europe-west3"
    );
    let e =
        toml::from_str::<KubernetesConfig>(&format!("{text}\nnode_selector = {{}}\n")).unwrap_err();
    assert!(e.to_string().contains("unknown field"), "{e}");
    // Neither a server nor a kubeconfig: refused with the fix.
    let mut c = cfg.clone();
    c.server = None;
    let e = KubernetesExecutor::new(c).unwrap_err().to_string();
    assert!(e.contains("`server`") && e.contains("`kubeconfig`"), "{e}");
    // The token is never printed.
    let mut c = cfg;
    c.token = Some(kite_service::kubernetes::KubeToken::new("s3cret"));
    assert!(!format!("{c:?}").contains("s3cret"));
}

#[test]
fn status_comes_from_the_watch_without_a_get_per_job() {
    let api = KubeApi::start_manual();
    let ex = executor(&api);
    let handles: Vec<Handle> = ["01JOBW1", "01JOBW2", "01JOBW3"]
        .iter()
        .map(|id| {
            let h = ex.submit(&launch(id, "DE", "true")).unwrap();
            ex.start(&h).unwrap()
        })
        .collect();
    let refs: Vec<&Handle> = handles.iter().collect();
    settle(&ex, &api, &refs);
    let mark = api.requests().len();

    // The fake's controller ends the pods: each Job gets a MODIFIED event with its condition.
    let codes = [0, 0, 3];
    for (h, code) in handles.iter().zip(codes) {
        assert!(api.finish(NS, name_of(h), code));
    }
    let mut calls = 0;
    wait_until("every job exited", || {
        handles.iter().all(|h| {
            calls += 1;
            matches!(ex.status(h).unwrap(), ExecState::Exited { .. })
        })
    });
    for (h, code) in handles.iter().zip(codes) {
        assert_eq!(ex.status(h).unwrap(), ExecState::Exited { code });
        calls += 1;
    }
    assert!(calls >= handles.len() * 2, "{calls}");
    for h in &handles {
        assert_eq!(job_gets(&api, mark, name_of(h)), 0, "GETs of {}", h.id);
    }
    // The only other reads: the failed Job's pods, for its exit code; no list, no re-watch.
    let failed_uid = api.job(NS, name_of(&handles[2])).unwrap()["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let others: Vec<_> = api.requests()[mark..]
        .iter()
        .filter(|r| !r.path.ends_with("/jobs") || !r.query.contains("watch=true"))
        .cloned()
        .collect();
    assert!(!others.is_empty());
    for r in &others {
        assert_eq!(r.path, format!("/api/v1/namespaces/{NS}/pods"), "{r:?}");
        assert!(r.query.contains(&failed_uid), "{r:?}");
    }
}

#[test]
fn a_dropped_watch_reconnects_from_its_version_and_catches_up() {
    let api = KubeApi::start_manual();
    let ex = executor(&api);
    let h = ex.submit(&launch("01JOBDROP", "DE", "true")).unwrap();
    let h = ex.start(&h).unwrap();
    settle(&ex, &api, &[&h]);

    // A write the watch does not select (another namespace) moves the store on; the bookmark
    // the server then sends moves the executor's version with it.
    api.insert_job(
        "elsewhere",
        serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "other", "labels": {"app": "other"}},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "x", "image": "busybox"}]}}},
        }),
    );
    let bookmarked = api.resource_version();
    let before = api.bookmarks_sent();
    wait_until("a bookmark", || api.bookmarks_sent() > before);

    // Disconnected (the re-watch is held unanswered) while the Job completes.
    let mark = api.requests().len();
    api.hold_watches(true);
    wait_until("the executor to notice", || !ex.watching());
    assert!(api.finish(NS, name_of(&h), 0));
    api.hold_watches(false);
    wait_until("the watch to reopen", || ex.watching());
    let after = api.requests().len();
    assert_eq!(
        wait_for(&ex, &h, |s| matches!(s, ExecState::Exited { .. })),
        ExecState::Exited { code: 0 }
    );
    // Caught up from the watch (no GET of the Job), re-opened from the bookmark's version
    // without a new LIST.
    assert_eq!(job_gets(&api, after, name_of(&h)), 0);
    let reads = job_collection_reads(&api, mark);
    assert!(reads.iter().all(|(watch, _)| *watch), "{reads:#?}");
    let (_, first) = &reads[0];
    assert_eq!(
        param(first, "resourceVersion"),
        Some(bookmarked.to_string())
    );
    assert_eq!(param(first, "allowWatchBookmarks").as_deref(), Some("true"));
    assert_eq!(
        param(first, "labelSelector").as_deref(),
        Some("kite.dev%2Fjob-id")
    );
}

#[test]
fn a_too_old_version_is_answered_410_and_the_executor_relists_and_continues() {
    let api = KubeApi::start_manual();
    let ex = executor(&api);
    let a = ex.submit(&launch("01JOBOLDA", "DE", "true")).unwrap();
    let a = ex.start(&a).unwrap();
    let b = ex.submit(&launch("01JOBOLDB", "DE", "true")).unwrap();
    let b = ex.start(&b).unwrap();
    settle(&ex, &api, &[&a, &b]);
    api.set_history_limit(1);

    let mark = api.requests().len();
    api.hold_watches(true);
    wait_until("the executor to notice", || !ex.watching());
    // Two Job events while disconnected; the server keeps one: the executor's version is gone.
    assert!(api.finish(NS, name_of(&a), 0));
    assert!(api.finish(NS, name_of(&b), 4));
    let listed_at = api.resource_version();
    api.hold_watches(false);
    wait_until("the watch to reopen", || {
        ex.watching() && job_collection_reads(&api, mark).len() >= 3
    });
    let after = api.requests().len();
    assert_eq!(
        wait_for(&ex, &a, |s| matches!(s, ExecState::Exited { .. })),
        ExecState::Exited { code: 0 }
    );
    assert_eq!(
        wait_for(&ex, &b, |s| matches!(s, ExecState::Exited { .. })),
        ExecState::Exited { code: 4 }
    );
    assert_eq!(job_gets(&api, after, name_of(&a)), 0);
    assert_eq!(job_gets(&api, after, name_of(&b)), 0);
    // watch from the old version (answered with ERROR 410), LIST, watch from the list's version.
    let reads = job_collection_reads(&api, mark);
    let kinds: Vec<bool> = reads.iter().map(|(w, _)| *w).collect();
    assert_eq!(kinds[..3], [true, false, true], "{reads:#?}");
    assert!(
        param(&reads[0].1, "resourceVersion")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            < listed_at
    );
    assert_eq!(
        param(&reads[2].1, "resourceVersion"),
        Some(listed_at.to_string())
    );
}

#[test]
fn an_unreachable_server_falls_back_to_a_get_and_is_a_backend_error() {
    let api = KubeApi::start_manual();
    let ex = executor(&api);
    let h = ex.submit(&launch("01JOBGONE", "DE", "sleep 30")).unwrap();
    let h = ex.start(&h).unwrap();
    settle(&ex, &api, &[&h]);
    drop(api);
    match wait_for_result(&ex, &h, Result::is_err) {
        Err(ExecError::Backend { executor, message }) => {
            assert_eq!(executor, "k8s-eu");
            assert!(message.contains("kite-01jobgone"), "{message}");
            assert!(message.contains("reachable"), "{message}");
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
    assert!(!ex.watching());
}

#[test]
fn a_deleted_job_reaches_status_through_the_watch_as_cancelled_or_lost() {
    let api = KubeApi::start_manual();
    let ex = executor(&api);
    let ours = ex.submit(&launch("01JOBDELA", "DE", "sleep 30")).unwrap();
    let ours = ex.start(&ours).unwrap();
    let theirs = ex.submit(&launch("01JOBDELB", "DE", "sleep 30")).unwrap();
    let theirs = ex.start(&theirs).unwrap();
    settle(&ex, &api, &[&ours, &theirs]);

    ex.cancel(&ours).unwrap();
    assert_eq!(ex.status(&ours).unwrap(), ExecState::Cancelled);
    let mark = api.requests().len();
    // Deleted by someone else (`kubectl delete job`).
    assert!(api.delete_job(NS, name_of(&theirs)));
    match wait_for(&ex, &theirs, |s| matches!(s, ExecState::Lost { .. })) {
        ExecState::Lost { reason } => assert!(reason.contains("no longer exists"), "{reason}"),
        s => panic!("expected lost, got {s:?}"),
    }
    assert_eq!(job_gets(&api, mark, name_of(&theirs)), 0);
    // Once the DELETED event of ours is in, it is answered without a request too.
    settle(&ex, &api, &[&ours]);
    assert_eq!(ex.status(&ours).unwrap(), ExecState::Cancelled);
}

#[test]
fn a_job_committed_running_whose_unsuspend_never_reached_the_api_server_is_started_once() {
    use kite_service::State;
    let api = KubeApi::start_manual();
    let ex = std::sync::Arc::new(executor(&api));
    let rig = util::rig(ex.clone(), Duration::from_secs(60), None);
    let now = rig.control.now();
    // Planned an hour ahead, so the loop would not start it on its own.
    let start = now + SignedDuration::from_hours(1);
    let job = util::plan_job_until(
        &rig,
        &["sh", "-c", "true"],
        false,
        vec![[start, start + SignedDuration::from_secs(60)]],
        now + SignedDuration::from_hours(3),
    );
    let handle = job.handle.clone().unwrap();
    // What dispatch commits before it un-suspends the Job; the PATCH itself never happens.
    util::commit_running(&rig, &job.id, now);
    let q = &rig.control.queue;
    let name = name_of(&handle).to_owned();
    let stored = api.job(NS, &name).unwrap();
    assert_eq!(stored["spec"]["suspend"], true);
    assert!(
        stored["metadata"]["annotations"]
            .get("kite.dev/started")
            .is_none()
    );

    // The loop sees the Job still held and un-suspends it.
    wait_until("the Job to be un-suspended", || {
        api.job(NS, &name).unwrap()["spec"]["suspend"] == false
    });
    assert!(api.finish(NS, &name, 0));
    wait_until("the job to succeed", || {
        q.get(&job.id).unwrap().unwrap().state == State::Succeeded
    });
    let unsuspends: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.body["spec"]["suspend"] == false)
        .collect();
    assert_eq!(unsuspends.len(), 1, "{unsuspends:#?}");
    assert_eq!(
        unsuspends[0].path,
        format!("/apis/batch/v1/namespaces/{NS}/jobs/{name}")
    );
    assert_eq!(
        unsuspends[0].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    let j = q.get(&job.id).unwrap().unwrap();
    assert_eq!(j.exit_code, Some(0));
    let log = util::reasons(&rig, &job.id);
    assert!(
        log.iter()
            .any(|r| r.contains("the start committed earlier had not reached it")),
        "{log:#?}"
    );
}
