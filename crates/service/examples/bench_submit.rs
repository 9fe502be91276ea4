//! Submits many no-op jobs to a running `kite serve` over HTTP, from several concurrent tasks,
//! and reports submissions/s and latency. Used by `scripts/bench-serve.sh` (issue 7's benchmark).
//!
//! ```sh
//! cargo run --release -p kite-service --example bench_submit -- \
//!     --server http://127.0.0.1:7878 --token-file jobs.sqlite3.token \
//!     --jobs 10000 --concurrency 16 --due-now 10 --earliest now+24h --deadline now+168h
//! ```
//!
//! Each submission is the real thing: `POST /v1/jobs` with the bearer token, through
//! `kite_service::Client`, timed from send to the parsed answer (which, by the API's contract,
//! waits up to 10 s for the planning round). Prints one JSON object on stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use kite_service::{Client, SubmitBody, secret::Token};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Args {
    server: String,
    token_file: String,
    jobs: usize,
    concurrency: usize,
    due_now: usize,
    earliest: String,
    deadline: String,
    duration: String,
    region: String,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        server: String::new(),
        token_file: String::new(),
        jobs: 10_000,
        concurrency: 16,
        due_now: 10,
        earliest: "now+24h".into(),
        deadline: "now+168h".into(),
        duration: "1m".into(),
        region: "DE".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| format!("{flag} `{v}`: not a whole number"))
        };
        match flag.as_str() {
            "--server" => a.server = value,
            "--token-file" => a.token_file = value,
            "--jobs" => a.jobs = num(&value)?,
            "--concurrency" => a.concurrency = num(&value)?.max(1),
            "--due-now" => a.due_now = num(&value)?,
            "--earliest" => a.earliest = value,
            "--deadline" => a.deadline = value,
            "--duration" => a.duration = value,
            "--region" => a.region = value,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.server.is_empty() || a.token_file.is_empty() {
        return Err("--server and --token-file are required".into());
    }
    Ok(a)
}

/// The q-quantile (0..=1) of sorted values, nearest rank.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("bench_submit: {e}");
            std::process::exit(2);
        }
    };
    let token = match std::fs::read_to_string(&args.token_file) {
        Ok(t) => Token::new(t.trim()),
        Err(e) => {
            eprintln!(
                "bench_submit: reading --token-file {}: {e}",
                args.token_file
            );
            std::process::exit(2);
        }
    };
    let client = Arc::new(Client::new(&args.server, token));
    let next = Arc::new(AtomicUsize::new(0));
    let args = Arc::new(args);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (client, next, args) = (client.clone(), next.clone(), args.clone());
        tasks.push(tokio::spawn(async move {
            // (seconds since t0 at completion, latency in ms, state answered) per submission.
            let mut done: Vec<(f64, f64, String)> = Vec::new();
            let mut errors = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= args.jobs {
                    break;
                }
                let body = SubmitBody {
                    command: vec!["true".into()],
                    duration: args.duration.clone(),
                    deadline: args.deadline.clone(),
                    // The first few are due now; the bulk waits, planned, far enough ahead.
                    earliest_start: (i >= args.due_now).then(|| args.earliest.clone()),
                    regions: vec![args.region.clone()],
                    ..SubmitBody::default()
                };
                let start = Instant::now();
                match client.submit(&body).await {
                    Ok(job) => done.push((
                        t0.elapsed().as_secs_f64(),
                        start.elapsed().as_secs_f64() * 1e3,
                        job.state.as_str().to_owned(),
                    )),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            (done, errors)
        }));
    }
    let mut done = Vec::new();
    let mut errors = Vec::new();
    for t in tasks {
        match t.await {
            Ok((d, e)) => {
                done.extend(d);
                errors.extend(e);
            }
            Err(e) => errors.push(format!("task failed: {e}")),
        }
    }
    let wall = t0.elapsed();
    let mut lat: Vec<f64> = done.iter().map(|d| d.1).collect();
    lat.sort_by(f64::total_cmp);
    // Submissions completed in each whole second of the run (the last, partial second dropped).
    let secs = wall.as_secs() as usize;
    let mut per_sec = vec![0usize; secs.max(1)];
    for d in &done {
        let s = d.0 as usize;
        if s < secs {
            per_sec[s] += 1;
        }
    }
    let mut rates: Vec<f64> = per_sec.iter().map(|&n| n as f64).collect();
    rates.sort_by(f64::total_cmp);
    let mut states = std::collections::BTreeMap::<String, usize>::new();
    for d in &done {
        *states.entry(d.2.clone()).or_default() += 1;
    }
    // Throughput over each tenth of the run, to show whether it degrades as the queue grows.
    let tenth = done.len().div_ceil(10).max(1);
    let mut by_end: Vec<f64> = done.iter().map(|d| d.0).collect();
    by_end.sort_by(f64::total_cmp);
    let mut deciles = Vec::new();
    let mut prev = 0.0;
    for chunk in by_end.chunks(tenth) {
        let end = chunk.last().copied().unwrap_or(prev);
        let dt = end - prev;
        deciles.push(if dt > 0.0 {
            chunk.len() as f64 / dt
        } else {
            f64::NAN
        });
        prev = end;
    }
    let out = serde_json::json!({
        "jobs": args.jobs,
        "ok": done.len(),
        "errors": errors.len(),
        "first_errors": errors.iter().take(3).collect::<Vec<_>>(),
        "concurrency": args.concurrency,
        "wall_s": wall.as_secs_f64(),
        "overall_per_s": done.len() as f64 / wall.as_secs_f64(),
        "median_per_s_by_second": quantile(&rates, 0.5),
        "per_s_by_decile": deciles.iter().map(|r| (r * 10.0).round() / 10.0).collect::<Vec<_>>(),
        "latency_ms": {
            "p50": quantile(&lat, 0.5),
            "p90": quantile(&lat, 0.9),
            "p99": quantile(&lat, 0.99),
            "max": lat.last().copied().unwrap_or(f64::NAN),
        },
        "answered_states": states,
    });
    println!("{out}");
    // Keep the runtime alive long enough for connections to close cleanly.
    tokio::time::sleep(Duration::from_millis(10)).await;
}
