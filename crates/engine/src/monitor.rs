//! Live monitoring for `kite monitor`: the host's power and energy per device, the share of it
//! attributed to watched process trees, and the grid intensity in force at each moment, one
//! interval at a time. The CLI owns the loop, the clock and the output (Prometheus, JSON lines);
//! this module owns what a sample means.
//!
//! **Host level.** Every meter answers one `sample` per interval with the energy of each whole
//! device. Meters attribute that energy to "the tree" of an [`Activity`]; for the host the tree is
//! the whole machine: its CPU time is the machine's busy CPU time and its resident memory is the
//! memory in use, so the CPU and memory shares are 1 and nothing is lost to attribution. The
//! machine numbers come from a [`ProcessSampler`] rooted at kite's own pid, because the sampler
//! reads `/proc/stat` and `/proc/meminfo` for every sample anyway (its `busy_cpu_seconds`,
//! `used_memory_bytes` and `total_memory_bytes` are machine-wide whatever the root), and kite's
//! own tree is the one tree certain to exist for as long as the monitor runs. The host numbers
//! are the readings' `device_energy`; a meter's own `attributed` is not used (NVML, for one,
//! attributes by the tree's pids, which a whole-machine tree does not list).
//!
//! **Process trees** (`--pid`). Each watched pid has its own [`ProcessSampler`]; meters are read
//! once per interval, never once per tree. A tree's share of each device's energy is:
//! - CPU and GPU: the tree's share of the machine's busy CPU time ([`Activity::cpu_share`]).
//!   For GPUs this is an approximation: `kite run` asks NVML for per-process GPU utilisation,
//!   which would mean a second NVML sample per tree;
//! - RAM: the rule of the meter that produced the reading, so `kite monitor --pid` and `kite run`
//!   agree for the same tree: modelled memory (watts per GiB in use) by the tree's share of the
//!   memory in use, RAPL's measured DRAM energy by CPU-time share (`rapl.rs` says why: DRAM
//!   energy above background follows memory traffic, not resident size).
//!
//! A watched tree that has exited (no member left) keeps its totals and is reported as gone,
//! with one note. A zombie counts as running until its parent reaps it, as in `ps`.
//!
//! Invariants: nothing here prints (problems are [`MonitorSample::notes`], once per change);
//! interval lengths come from the monotonic clock in [`ProcessSampler`]; emissions use PUE 1
//! (the energy of the machine itself, no data-centre overhead).

use kite_core::{
    GramsCo2PerKwh, GramsCo2e, IntensitySeries, Joules, KilowattHours, Point, SignalMeta,
    Timestamp, Watts, ZoneKey,
};
use kite_meter::{
    Activity, Component, Meter, MeterChoice, MeterEnv, MeterError, Method, ProcessSampler, Reading,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often the monitor asks the intensity service again.
pub const INTENSITY_REFRESH: Duration = Duration::from_secs(5 * 60);

/// How far ahead each refresh fetches, so the value stays current across an hour boundary
/// between two refreshes (and through a failed refresh or two).
pub const INTENSITY_LOOKAHEAD: kite_core::SignedDuration = kite_core::SignedDuration::from_hours(2);

/// Why the monitor could not start or sample. The messages name the flag or path; the cause is
/// the error's [`source`](std::error::Error::source) (the CLI prints the whole chain).
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The meter choice does not work on this machine.
    #[error("--meter {choice}")]
    Meter {
        /// What was asked for.
        choice: MeterChoice,
        /// Why it failed.
        #[source]
        source: MeterError,
    },
    /// Every selected meter failed to start.
    #[error("no meter could start: {0}")]
    NoMeter(String),
    /// A `--pid` that cannot be followed.
    #[error("--pid {pid}")]
    Process {
        /// The pid as given.
        pid: u32,
        /// Why it cannot be followed.
        #[source]
        source: MeterError,
    },
    /// The machine's CPU and memory counters cannot be read.
    #[error("cannot read the machine's CPU and memory activity under {}", proc_root.display())]
    Machine {
        /// The procfs root.
        proc_root: PathBuf,
        /// The sampler's error.
        #[source]
        source: MeterError,
    },
}

/// What to monitor.
#[derive(Debug, Clone)]
pub struct MonitorRequest {
    /// Which meters.
    pub meter: MeterChoice,
    /// Where meters and samplers look (tests point this at fake trees).
    pub meter_env: MeterEnv,
    /// Roots of the process trees to attribute energy to (duplicates are ignored).
    pub pids: Vec<u32>,
}

/// A watched process tree.
#[derive(Debug)]
struct Watched {
    pid: u32,
    comm: String,
    /// `None` once the tree has exited.
    sampler: Option<ProcessSampler>,
}

/// The running meters and samplers of one `kite monitor`.
pub struct Monitor {
    meters: Vec<Box<dyn Meter>>,
    machine: ProcessSampler,
    proc_root: PathBuf,
    processes: Vec<Watched>,
    /// Meter name → the error it last failed with, so a failure is reported once.
    failing: HashMap<&'static str, String>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field(
                "meters",
                &self.meters.iter().map(|m| m.name()).collect::<Vec<_>>(),
            )
            .field("processes", &self.processes)
            .finish_non_exhaustive()
    }
}

/// One device's energy over one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct HostEnergy {
    /// CPU, RAM or GPU.
    pub component: Component,
    /// The device, as the meter names it (`package-0`, `RAM (31.3 GiB)`, …).
    pub device: String,
    /// Sensor or model.
    pub method: Method,
    /// Energy the whole device used in the interval.
    pub joules: Joules,
    /// Mean power over the interval.
    pub watts: Watts,
}

impl HostEnergy {
    /// `measured` or `modelled`.
    pub fn method_label(&self) -> &'static str {
        method_label(&self.method)
    }
}

/// `measured` (a sensor) or `modelled` (a power model).
pub fn method_label(method: &Method) -> &'static str {
    match method {
        Method::Measured { .. } => "measured",
        Method::Modelled { .. } => "modelled",
    }
}

/// One watched tree over one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessEnergy {
    /// The root pid as given.
    pub pid: u32,
    /// The root's command name (`/proc/<pid>/comm`) when the watch started.
    pub comm: String,
    /// Whether any process of the tree is still running.
    pub up: bool,
    /// The tree's share of the machine's busy CPU time in the interval (0 once gone).
    pub cpu_share: f64,
    /// Energy attributed to the tree per component, sorted by component; every component the
    /// host readings have appears, with zero once the tree is gone.
    pub components: Vec<(Component, Joules, Watts)>,
}

/// Everything one interval produced.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorSample {
    /// Length of the interval, seconds (monotonic).
    pub seconds: f64,
    /// One entry per device the meters read this interval.
    pub host: Vec<HostEnergy>,
    /// One entry per watched tree, in the order given.
    pub processes: Vec<ProcessEnergy>,
    /// Things to tell the user once: a tree that exited, a meter that failed or recovered.
    pub notes: Vec<String>,
}

impl MonitorSample {
    /// Energy of all host devices in the interval.
    pub fn host_energy(&self) -> Joules {
        self.host.iter().fold(Joules(0.0), |sum, h| sum + h.joules)
    }

    /// Emissions of the host's energy in the interval at `intensity`, with PUE 1.
    pub fn emissions(&self, intensity: GramsCo2PerKwh) -> GramsCo2e {
        KilowattHours::from(self.host_energy()) * intensity
    }
}

impl Monitor {
    /// Selects and starts the meters and follows the given process trees; the first
    /// [`sample`](Self::sample) covers the time since this call. Returns the monitor and the
    /// lines the user should see about the meter choice. A pid that does not exist is an error
    /// here, before anything runs.
    pub fn start(req: &MonitorRequest) -> Result<(Monitor, Vec<String>), MonitorError> {
        let proc_root = req.meter_env.proc_root.clone();
        let mut processes: Vec<Watched> = Vec::with_capacity(req.pids.len());
        for &pid in &req.pids {
            if processes.iter().any(|w| w.pid == pid) {
                continue;
            }
            let sampler = ProcessSampler::new(proc_root.clone(), pid)
                .map_err(|source| MonitorError::Process { pid, source })?;
            processes.push(Watched {
                pid,
                comm: read_comm(&proc_root, pid),
                sampler: Some(sampler),
            });
        }
        let selection = kite_meter::select(req.meter, &req.meter_env).map_err(|source| {
            MonitorError::Meter {
                choice: req.meter,
                source,
            }
        })?;
        let mut diagnostics = selection.diagnostics;
        let mut meters = Vec::with_capacity(selection.meters.len());
        let mut errors = Vec::new();
        for mut meter in selection.meters {
            let name = meter.name();
            match meter.start() {
                Ok(()) => meters.push(meter),
                Err(e) => {
                    diagnostics.push(format!(
                        "meter `{name}` could not start and is left out: {e}"
                    ));
                    errors.push(format!("{name}: {e}"));
                }
            }
        }
        if meters.is_empty() {
            return Err(MonitorError::NoMeter(errors.join("; ")));
        }
        let machine =
            ProcessSampler::new(proc_root.clone(), std::process::id()).map_err(|source| {
                MonitorError::Machine {
                    proc_root: proc_root.clone(),
                    source,
                }
            })?;
        // The watched trees' first interval starts with the meters', not before them.
        for w in &mut processes {
            if let Some(sampler) = &mut w.sampler {
                sampler
                    .sample()
                    .map_err(|source| MonitorError::Process { pid: w.pid, source })?;
            }
        }
        Ok((
            Monitor {
                meters,
                machine,
                proc_root,
                processes,
                failing: HashMap::new(),
            },
            diagnostics,
        ))
    }

    /// The names of the running meters.
    pub fn meter_names(&self) -> Vec<&'static str> {
        self.meters.iter().map(|m| m.name()).collect()
    }

    /// Reads every meter once and attributes the interval since the previous call. Fails only
    /// when the machine's own counters cannot be read; a failing meter or tree is a note.
    pub fn sample(&mut self) -> Result<MonitorSample, MonitorError> {
        let machine =
            machine_activity(
                self.machine
                    .sample()
                    .map_err(|source| MonitorError::Machine {
                        proc_root: self.proc_root.clone(),
                        source,
                    })?,
            );
        let seconds = machine.seconds;
        let mut notes = Vec::new();
        let mut readings: Vec<Reading> = Vec::new();
        for meter in &mut self.meters {
            let name = meter.name();
            match meter.sample(&machine) {
                Ok(r) => {
                    readings.extend(r);
                    if self.failing.remove(name).is_some() {
                        notes.push(format!("meter `{name}` reads again"));
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    if self.failing.get(name) != Some(&message) {
                        notes.push(format!(
                            "meter `{name}` failed; its devices are missing until it reads \
                             again: {message}"
                        ));
                        self.failing.insert(name, message);
                    }
                }
            }
        }
        let host: Vec<HostEnergy> = readings
            .iter()
            .map(|r| HostEnergy {
                component: r.component,
                device: r.device.clone(),
                method: r.method.clone(),
                joules: r.device_energy,
                watts: power(r.device_energy, seconds),
            })
            .collect();

        let mut components: Vec<Component> = readings.iter().map(|r| r.component).collect();
        components.sort();
        components.dedup();
        let mut processes = Vec::with_capacity(self.processes.len());
        for w in &mut self.processes {
            let activity = match w.sampler.as_mut().map(ProcessSampler::sample) {
                None => None,
                Some(Ok(a)) if !a.pids.is_empty() => Some(a),
                Some(Ok(_)) => {
                    notes.push(format!(
                        "process {} ({}) and all its descendants have exited; its totals are \
                         kept and it is reported as down",
                        w.pid, w.comm
                    ));
                    w.sampler = None;
                    None
                }
                Some(Err(e)) => {
                    notes.push(format!(
                        "lost track of process {} ({}): {e}; its totals are kept and it is \
                         reported as down",
                        w.pid, w.comm
                    ));
                    w.sampler = None;
                    None
                }
            };
            let (up, cpu_share, attributed) = match &activity {
                Some(a) => (true, a.cpu_share(), attribute(&readings, a)),
                None => (false, 0.0, Vec::new()),
            };
            let components = components
                .iter()
                .map(|&c| {
                    let joules = attributed
                        .iter()
                        .find(|(ac, _)| *ac == c)
                        .map_or(Joules(0.0), |(_, j)| *j);
                    (c, joules, power(joules, seconds))
                })
                .collect();
            processes.push(ProcessEnergy {
                pid: w.pid,
                comm: w.comm.clone(),
                up,
                cpu_share,
                components,
            });
        }
        Ok(MonitorSample {
            seconds,
            host,
            processes,
            notes,
        })
    }
}

/// The machine as the measured tree (see the module doc): CPU and memory shares of 1.
fn machine_activity(mut activity: Activity) -> Activity {
    activity.tree_cpu_seconds = activity.busy_cpu_seconds;
    activity.tree_rss_bytes = activity.used_memory_bytes;
    activity.pids.clear();
    activity
}

/// The energy of `readings` attributed to the tree whose interval is `tree`, per component,
/// sorted by component (see the module doc for the rules).
pub fn attribute(readings: &[Reading], tree: &Activity) -> Vec<(Component, Joules)> {
    let cpu_share = tree.cpu_share();
    let memory_share = if tree.used_memory_bytes > 0 {
        (tree.tree_rss_bytes as f64 / tree.used_memory_bytes as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mut out: Vec<(Component, Joules)> = Vec::new();
    for r in readings {
        let share = match (r.component, &r.method) {
            (Component::Ram, Method::Modelled { .. }) => memory_share,
            _ => cpu_share,
        };
        let joules = r.device_energy * share;
        match out.iter_mut().find(|(c, _)| *c == r.component) {
            Some((_, sum)) => *sum += joules,
            None => out.push((r.component, joules)),
        }
    }
    out.sort_by_key(|(c, _)| *c);
    out
}

fn power(energy: Joules, seconds: f64) -> Watts {
    if seconds > 0.0 && seconds.is_finite() {
        Watts(energy.0 / seconds)
    } else {
        Watts(0.0)
    }
}

/// The command name of `pid`, or `?` when it cannot be read (a label, not worth failing for).
fn read_comm(proc_root: &Path, pid: u32) -> String {
    std::fs::read_to_string(proc_root.join(pid.to_string()).join("comm"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "?".to_string())
}

/// The intensity value in force at one instant, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentIntensity {
    /// The zone of the series.
    pub zone: ZoneKey,
    /// The point whose interval contains the instant.
    pub point: Point,
    /// Its series' metadata (signal, source, provenance).
    pub meta: SignalMeta,
}

/// The point of `segments` whose interval contains `at`, if any.
pub fn intensity_at(segments: &[IntensitySeries], at: Timestamp) -> Option<CurrentIntensity> {
    segments.iter().find_map(|s| {
        s.points()
            .iter()
            .find(|p| p.start <= at && at < p.end())
            .map(|p| CurrentIntensity {
                zone: s.zone().clone(),
                point: *p,
                meta: s.meta().clone(),
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kite_core::{Provenance, Resolution, Signal};

    fn reading(component: Component, joules: f64, method: Method) -> Reading {
        Reading {
            component,
            device: format!("{}-0", component.as_str()),
            device_energy: Joules(joules),
            attributed: Joules(0.0),
            method,
        }
    }

    fn modelled() -> Method {
        Method::Modelled {
            model: "test".into(),
        }
    }

    fn measured() -> Method {
        Method::Measured {
            sensor: "rapl",
            detail: "test".into(),
        }
    }

    fn tree(cpu: f64, busy: f64, rss: u64, used: u64) -> Activity {
        Activity {
            seconds: 1.0,
            tree_cpu_seconds: cpu,
            busy_cpu_seconds: busy,
            cpus: 4,
            tree_rss_bytes: rss,
            used_memory_bytes: used,
            total_memory_bytes: used * 2,
            pids: vec![1],
        }
    }

    #[test]
    fn cpu_and_gpu_follow_cpu_share_and_ram_follows_the_meters_rule() {
        let readings = [
            reading(Component::Cpu, 100.0, measured()),
            reading(Component::Gpu, 300.0, measured()),
            reading(Component::Ram, 10.0, modelled()),
            reading(Component::Ram, 20.0, measured()),
        ];
        // A quarter of the busy CPU time, a tenth of the memory in use.
        let got = attribute(&readings, &tree(1.0, 4.0, 100, 1000));
        assert_eq!(
            got,
            vec![
                (Component::Cpu, Joules(25.0)),
                (Component::Ram, Joules(1.0 + 5.0)),
                (Component::Gpu, Joules(75.0)),
            ]
        );
    }

    #[test]
    fn an_idle_machine_attributes_nothing_and_shares_never_exceed_one() {
        let readings = [
            reading(Component::Cpu, 50.0, modelled()),
            reading(Component::Ram, 10.0, modelled()),
        ];
        let idle = attribute(&readings, &tree(0.0, 0.0, 0, 0));
        assert_eq!(
            idle,
            vec![(Component::Cpu, Joules(0.0)), (Component::Ram, Joules(0.0))]
        );
        // Shared pages can make a tree's RSS exceed the memory in use.
        let over = attribute(&readings, &tree(8.0, 4.0, 5000, 1000));
        assert_eq!(
            over,
            vec![
                (Component::Cpu, Joules(50.0)),
                (Component::Ram, Joules(10.0))
            ]
        );
    }

    #[test]
    fn the_machine_is_its_own_tree() {
        let a = machine_activity(tree(0.5, 3.0, 10, 800));
        assert_eq!(a.cpu_share(), 1.0);
        assert_eq!(a.tree_rss_bytes, 800);
        assert!(a.pids.is_empty());
    }

    #[test]
    fn emissions_use_host_energy_and_pue_one() {
        let sample = MonitorSample {
            seconds: 1.0,
            host: vec![HostEnergy {
                component: Component::Cpu,
                device: "package-0".into(),
                method: measured(),
                joules: Joules(3_600_000.0),
                watts: Watts(3_600_000.0),
            }],
            processes: Vec::new(),
            notes: Vec::new(),
        };
        assert_eq!(sample.emissions(GramsCo2PerKwh(400.0)), GramsCo2e(400.0));
        assert_eq!(sample.host[0].method_label(), "measured");
    }

    #[test]
    fn the_current_value_is_the_point_containing_now() {
        let zone = ZoneKey::new("DE").unwrap();
        let meta = SignalMeta {
            signal: Signal::AVERAGE_LIFECYCLE,
            source: "test".into(),
            fetched_at: None,
            provenance: Provenance::Measured,
        };
        let t0: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let hour = kite_core::SignedDuration::from_hours(1);
        let series = IntensitySeries::from_regular(
            zone.clone(),
            meta,
            Resolution::HOUR,
            [(t0, 100.0), (t0 + hour, 200.0)],
        )
        .unwrap();
        let segments = [series];
        let at = |t: Timestamp| intensity_at(&segments, t).map(|c| c.point.value.0);
        assert_eq!(at(t0), Some(100.0));
        assert_eq!(
            at(t0 + hour - kite_core::SignedDuration::from_secs(1)),
            Some(100.0)
        );
        assert_eq!(at(t0 + hour), Some(200.0));
        assert_eq!(at(t0 + hour + hour), None);
        assert_eq!(at(t0 - hour), None);
    }
}
