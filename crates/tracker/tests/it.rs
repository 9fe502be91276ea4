//! The tracker through its public API, with real meters (`ConstantPowerMeter`), a real activity
//! source (`SyntheticActivity`), real SQLite stores in temporary directories, real CSV files, and
//! a real child process killed with SIGKILL.
#![allow(clippy::unwrap_used)]

use kite_core::{
    Clock, IntensitySeries, Provenance, Resolution, Signal, SignalMeta, SignedDuration,
    SystemClock, ZoneKey,
};
use kite_meter::{Component, Meter, MeterError};
use kite_store::Store;
use kite_tracker::codecarbon::{self, CsvAppend, HostInfo};
use kite_tracker::{
    ConstantPowerMeter, HardwareProfile, RunOutcome, RunRecord, RunStatus, SyntheticActivity,
    Tracker, TrackerConfig, TrackerError,
};
use std::path::Path;
use std::time::{Duration, Instant};

fn zone() -> ZoneKey {
    ZoneKey::new("DE").unwrap()
}

/// An hourly series around now, all at `value`.
fn flat_series(source: &str, value: f64) -> IntensitySeries {
    let first = Resolution::HOUR.floor(SystemClock.now()) - SignedDuration::from_hours(1);
    IntensitySeries::from_regular(
        zone(),
        SignalMeta {
            signal: Signal::AVERAGE_LIFECYCLE,
            source: source.into(),
            fetched_at: Some(first),
            provenance: Provenance::Measured,
        },
        Resolution::HOUR,
        (0..4).map(|i| (first + SignedDuration::from_hours(i), value)),
    )
    .unwrap()
}

fn config(interval_ms: u64, persist_ms: u64) -> TrackerConfig {
    let mut cfg = TrackerConfig::new(
        "it",
        zone(),
        HardwareProfile::default_for("test CPU", &[], 8, 16.0),
    );
    cfg.interval = Duration::from_millis(interval_ms);
    cfg.persist_every = Duration::from_millis(persist_ms);
    cfg.command = Some(vec!["train".into(), "--epochs=4".into()]);
    cfg
}

fn meters(cpu_watts: f64, ram_watts: f64) -> Vec<Box<dyn Meter>> {
    vec![
        Box::new(ConstantPowerMeter::new(Component::Cpu, cpu_watts)),
        Box::new(ConstantPowerMeter::new(Component::Ram, ram_watts)),
    ]
}

fn activity() -> Box<SyntheticActivity> {
    Box::new(SyntheticActivity::new(8, 0.5, 0.5))
}

fn host() -> HostInfo {
    HostInfo {
        os: "Linux-test".into(),
        python_version: String::new(),
        tool_version: "kite test".into(),
        cpu_count: 8,
        cpu_model: "Test CPU, 8 cores".into(),
        gpus: vec![],
        longitude: None,
        latitude: None,
        ram_total_gb: 16.0,
    }
}

#[test]
fn a_run_with_phases_is_recorded_and_rebuilt_identically_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kite.db");
    let mut cfg = config(20, 100);
    cfg.total_phases = Some(4);
    cfg.pue = kite_tracker::Factor::new(1.2, "--pue flag");
    let run_id = cfg.run_id.clone();
    let started = Instant::now();
    let tracker = Tracker::start(
        cfg,
        meters(100.0, 5.0),
        activity(),
        vec![flat_series("test", 400.0)],
        Some(Store::open(&db).unwrap()),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(50)); // setup, before the first phase
    for epoch in 0..4 {
        let _phase = tracker.phase(&format!("epoch {epoch}"));
        std::thread::sleep(Duration::from_millis(120));
    }
    // The snapshot follows the sampling thread, which closes the last phase at its next tick.
    std::thread::sleep(Duration::from_millis(60));
    let snapshot = tracker.snapshot();
    assert_eq!(snapshot.completed_phases, 4);
    assert!(snapshot.energy_wh() > 0.0);
    assert!(snapshot.prediction.is_some());
    let live = tracker
        .stop(RunOutcome::Succeeded { exit_code: Some(0) })
        .unwrap();
    let wall = started.elapsed().as_secs_f64();

    assert_eq!(live.status, RunStatus::Succeeded);
    assert_eq!(live.run_id, run_id);
    assert!(
        live.duration_secs > 0.5 && live.duration_secs <= wall,
        "{}",
        live.duration_secs
    );
    // 105 W for the whole run: energy = power × duration, to the millisecond of the timeline.
    let expected_kwh = 105.0 * live.duration_secs / 3.6e6;
    assert!(
        (live.energy.0 - expected_kwh).abs() / expected_kwh < 0.05,
        "{} vs {expected_kwh}",
        live.energy.0
    );
    assert_eq!(live.measured_fraction, 0.0, "a constant meter is a model");
    assert!((live.facility_energy.0 - live.energy.0 * 1.2).abs() < 1e-12);
    assert!((live.operational.0 - live.facility_energy.0 * 400.0).abs() < 1e-9);
    assert_eq!(live.intensity.segments.len(), 1);
    assert!((live.intensity.effective.unwrap().0 - 400.0).abs() < 1e-9);
    assert!(live.embodied.emissions.0 > 0.0);
    assert_eq!(live.phases.len(), 4);
    let phase_energy: f64 = live.phases.iter().map(|p| p.energy.0).sum();
    assert!(
        phase_energy < live.energy.0,
        "setup energy is outside the phases"
    );
    for p in &live.phases {
        assert!(p.end.is_some());
        let share = p.energy.0 / live.energy.0;
        assert!(share > 0.1 && share < 0.4, "{}: {share}", p.name);
    }
    assert_eq!(live.predictions.len(), 4);
    assert_eq!(live.predictions[0].after_phases, 1);
    for p in &live.predictions {
        let err = p.energy_error_pct.unwrap();
        assert!(err.abs() < 35.0, "after {} phases: {err}%", p.after_phases);
        assert!(p.emissions_error_pct.is_some() && p.duration_error_pct.is_some());
    }
    // After the last phase only the teardown (the 60 ms wait above) is left unpredicted.
    let last = &live.predictions[3];
    assert!(last.energy.0 <= live.energy.0 && last.energy_error_pct.unwrap() > -20.0);

    let store = Store::open(&db).unwrap();
    let rebuilt = kite_tracker::load_run(&store, &run_id).unwrap().unwrap();
    assert_eq!(rebuilt, live, "the stored run rebuilds to the same record");
}

#[test]
fn carbon_changes_with_the_intensity_mid_run() {
    let tracker = Tracker::start(
        config(10, 100),
        meters(360.0, 0.0),
        activity(),
        vec![flat_series("clean", 100.0)],
        None,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    tracker.set_intensity(vec![flat_series("dirty", 500.0)]);
    std::thread::sleep(Duration::from_millis(300));
    let r = tracker
        .stop(RunOutcome::Succeeded { exit_code: None })
        .unwrap();
    let segs = &r.intensity.segments;
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[0].meta.source, "clean");
    assert_eq!(segs[1].meta.source, "dirty");
    // The total is the energy-weighted sum over the two segments, not one average.
    let by_segment = segs[0].energy.0 * 100.0 + segs[1].energy.0 * 500.0;
    assert!(
        (r.operational.0 - by_segment).abs() < 1e-9,
        "{} vs {by_segment}",
        r.operational.0
    );
    let effective = r.intensity.effective.unwrap().0;
    assert!(effective > 150.0 && effective < 450.0, "{effective}");
}

/// A meter that cannot start: the error path of `Tracker::start`.
struct NoSensorMeter;

impl Meter for NoSensorMeter {
    fn name(&self) -> &'static str {
        "nosensor"
    }
    fn start(&mut self) -> Result<(), MeterError> {
        Err(MeterError::NvmlNotCompiled)
    }
    fn sample(&mut self, _: &kite_meter::Activity) -> Result<Vec<kite_meter::Reading>, MeterError> {
        Err(MeterError::NvmlNotCompiled)
    }
}

#[test]
fn meters_that_cannot_start_are_left_out_or_refused() {
    let err = Tracker::start(
        config(20, 100),
        vec![Box::new(NoSensorMeter)],
        activity(),
        vec![],
        None,
    )
    .unwrap_err();
    assert!(matches!(err, TrackerError::NoMeter { .. }), "{err}");
    let mut with_one = meters(10.0, 1.0);
    with_one.push(Box::new(NoSensorMeter));
    let t = Tracker::start(config(20, 100), with_one, activity(), vec![], None).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let r = t.stop(RunOutcome::Failed { exit_code: Some(3) }).unwrap();
    assert_eq!(r.status, RunStatus::Failed);
    assert_eq!(r.exit_code, Some(3));
    assert!(r.diagnostics.iter().any(|d| d.message.contains("nosensor")));
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.message.contains("no grid intensity"))
    );
    assert_eq!(r.operational.0, 0.0);
    assert!(r.intensity.unknown_energy.0 > 0.0);
}

#[test]
fn a_dropped_guard_marks_the_run_interrupted_and_finish_marks_it_succeeded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kite.db");
    let cfg = config(20, 100);
    let dropped_id = cfg.run_id.clone();
    {
        let guard = Tracker::start(
            cfg,
            meters(10.0, 1.0),
            activity(),
            vec![],
            Some(Store::open(&db).unwrap()),
        )
        .unwrap()
        .guard();
        let _p = guard.phase("work");
        std::thread::sleep(Duration::from_millis(60));
    }
    let cfg = config(20, 100);
    let finished_id = cfg.run_id.clone();
    let guard = Tracker::start(
        cfg,
        meters(10.0, 1.0),
        activity(),
        vec![],
        Some(Store::open(&db).unwrap()),
    )
    .unwrap()
    .guard();
    std::thread::sleep(Duration::from_millis(60));
    let record = guard.finish().unwrap();
    assert_eq!(record.status, RunStatus::Succeeded);

    let store = Store::open(&db).unwrap();
    let dropped = store.run(&dropped_id).unwrap().unwrap().summary;
    assert_eq!(dropped.status, RunStatus::Interrupted);
    assert!(dropped.reason.unwrap().contains("dropped"));
    assert_eq!(
        store.run(&finished_id).unwrap().unwrap().summary.status,
        RunStatus::Succeeded
    );
    let rebuilt = kite_tracker::load_run(&store, &dropped_id)
        .unwrap()
        .unwrap();
    assert_eq!(rebuilt.phases.len(), 1);
    assert!(
        rebuilt.phases[0].end.is_some(),
        "the phase guard ended the phase first"
    );
}

const CODECARBON_HEADER: &str = "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,country_iso_code,region,cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,ram_total_size,tracking_mode,cpu_utilization_percent,gpu_utilization_percent,ram_utilization_percent,ram_used_gb,on_cloud,pue,wue\n";

fn short_run(project: &str) -> RunRecord {
    let mut cfg = config(20, 100);
    cfg.project = project.into();
    cfg.experiment = Some("exp, 1".into());
    cfg.country_iso3 = Some("DEU".into());
    cfg.country_name = Some("Germany".into());
    let t = Tracker::start(
        cfg,
        meters(50.0, 5.0),
        activity(),
        vec![flat_series("t", 300.0)],
        None,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(80));
    t.stop(RunOutcome::Succeeded { exit_code: Some(0) })
        .unwrap()
}

fn rows(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn emissions_csv_has_codecarbons_header_and_appends_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emissions.csv");
    let first = short_run("alpha");
    let second = short_run("beta");
    assert_eq!(
        codecarbon::append_row(&path, &first, &host()).unwrap(),
        CsvAppend::Created
    );
    assert_eq!(
        codecarbon::append_row(&path, &second, &host()).unwrap(),
        CsvAppend::Appended
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with(CODECARBON_HEADER),
        "header differs byte for byte"
    );
    let lines = rows(&path);
    assert_eq!(lines.len(), 3);
    assert!(lines[1].contains(&first.run_id) && lines[1].contains(",alpha,"));
    assert!(lines[2].contains(&second.run_id) && lines[2].contains(",beta,"));
    // 38 values (the experiment name holds a comma and is quoted).
    assert!(lines[1].contains("\"exp, 1\""));
    let unquoted = lines[1]
        .replace("\"exp, 1\"", "exp")
        .replace("\"Test CPU, 8 cores\"", "cpu");
    let fields: Vec<&str> = unquoted.split(',').collect();
    assert_eq!(fields.len(), 38);
    // Units: emissions kg, energy kWh with PUE, duration s.
    let emissions: f64 = fields[5].parse().unwrap();
    assert!((emissions - first.operational.0 / 1000.0).abs() < 1e-15);
    let energy: f64 = fields[13].parse().unwrap();
    assert!((energy - first.facility_energy.0).abs() < 1e-15);
    assert_eq!(fields[16], "DEU");
    assert_eq!(fields[17], "DE");
    assert_eq!(fields[30], "process");
    assert_eq!(fields[35], "N");
}

#[test]
fn an_emissions_csv_with_other_columns_is_kept_and_same_columns_in_another_order_are_respected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emissions.csv");
    let old = "timestamp,project_name,emissions\n2024-01-01T00:00:00,old,0.5";
    std::fs::write(&path, old).unwrap();
    let run = short_run("gamma");
    let outcome = codecarbon::append_row(&path, &run, &host()).unwrap();
    let CsvAppend::BackedUp { backup } = outcome else {
        panic!("expected a backup, got {outcome:?}");
    };
    assert_eq!(backup, dir.path().join("emissions.csv.bak"));
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        old,
        "the old file is intact"
    );
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with(CODECARBON_HEADER)
    );
    // A second mismatching file gets the next free backup name, never overwriting the first.
    std::fs::write(&path, "a,b\n1,2\n").unwrap();
    let CsvAppend::BackedUp { backup: second } =
        codecarbon::append_row(&path, &run, &host()).unwrap()
    else {
        panic!("expected a backup");
    };
    assert_eq!(second, dir.path().join("emissions.csv_0.bak"));
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), old);

    // Same columns, other order, no final newline: appended in the file's order.
    let mut columns: Vec<&str> = CODECARBON_HEADER.trim_end().split(',').collect();
    columns.reverse();
    let reversed = columns.join(",");
    let other = dir.path().join("reversed.csv");
    std::fs::write(&other, format!("{reversed}\n{}", vec!["x"; 38].join(","))).unwrap();
    assert_eq!(
        codecarbon::append_row(&other, &run, &host()).unwrap(),
        CsvAppend::Appended
    );
    let lines = rows(&other);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], reversed);
    assert!(
        lines[2].starts_with("0.0,"),
        "wue (0 L/kWh) is now the first column: {}",
        lines[2]
    );
    assert!(lines[2].ends_with(&run.ended_at.strftime("%Y-%m-%dT%H:%M:%S").to_string()));
}

const CHILD_ENV: &str = "KITE_TRACKER_KILL_TEST_DIR";

/// Not a test on its own: the child process of `kill_dash_nine_...` (re-executed with
/// `CHILD_ENV` set). Without the variable it returns at once.
#[test]
fn child_process_for_the_kill_test() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    let cfg = config(20, 100);
    let run_id = cfg.run_id.clone();
    let tracker = Tracker::start(
        cfg,
        vec![Box::new(ConstantPowerMeter::new(Component::Cpu, 50.0))],
        activity(),
        vec![flat_series("t", 300.0)],
        Some(Store::open(&dir.join("kite.db")).unwrap()),
    )
    .unwrap();
    std::fs::write(dir.join("run_id.tmp"), &run_id).unwrap();
    std::fs::rename(dir.join("run_id.tmp"), dir.join("run_id")).unwrap();
    let _phase = tracker.phase("forever");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn kill_dash_nine_loses_at_most_the_last_interval_and_the_run_is_marked_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let spawned = Instant::now();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_for_the_kill_test",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let id_file = dir.path().join("run_id");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !id_file.exists() {
        assert!(Instant::now() < deadline, "the child never started its run");
        std::thread::sleep(Duration::from_millis(20));
    }
    let run_id = std::fs::read_to_string(&id_file).unwrap();
    let db = dir.path().join("kite.db");
    {
        let store = Store::open(&db).unwrap();
        loop {
            let stored = store.run(&run_id).unwrap().unwrap();
            if stored.intervals.len() >= 3 {
                assert_eq!(stored.summary.status, RunStatus::Running);
                break;
            }
            assert!(Instant::now() < deadline, "no intervals were persisted");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let alive_for = spawned.elapsed().as_secs_f64();

    let mut store = Store::open(&db).unwrap();
    let marked = store
        .mark_interrupted(&kite_tracker::process_is_alive)
        .unwrap();
    assert_eq!(marked, std::slice::from_ref(&run_id));
    let stored = store.run(&run_id).unwrap().unwrap();
    assert_eq!(stored.summary.status, RunStatus::Interrupted);
    assert_eq!(stored.summary.ended_at, stored.summary.last_end);
    let record = RunRecord::from_stored(&stored).unwrap();
    assert_eq!(record.status, RunStatus::Interrupted);
    assert!(record.energy.0 > 0.0);
    // Never more than 50 W for as long as the child lived.
    assert!(
        record.energy.0 <= 50.0 * alive_for / 3.6e6,
        "{} kWh in {alive_for} s",
        record.energy.0
    );
    assert!((record.energy.0 - 50.0 * record.duration_secs / 3.6e6).abs() / record.energy.0 < 0.05);
    assert!(record.operational.0 > 0.0);
    assert!(
        record
            .diagnostics
            .iter()
            .any(|d| d.message.contains("interrupted"))
    );
    assert_eq!(record.phases.len(), 1);
    assert!(record.phases[0].end.is_none());
    // Marking again changes nothing.
    assert!(
        store
            .mark_interrupted(&kite_tracker::process_is_alive)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_current_process_is_alive_and_a_reaped_one_is_not() {
    assert!(kite_tracker::process_is_alive(std::process::id()));
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    assert!(!kite_tracker::process_is_alive(pid));
}
