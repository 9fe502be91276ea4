//! The tracker's inputs besides meters: [`ActivitySource`] (what the machine and the measured
//! process tree did), and two small real implementations for demos and tests:
//! [`ConstantPowerMeter`] (`--meter constant`) and [`SyntheticActivity`].
//!
//! The meter crate's `ProcessSampler` is the production [`ActivitySource`] (it reads `/proc`);
//! the CLI wires it in.

use kite_core::Joules;
use kite_meter::{Activity, Component, Meter, MeterError, Method, Reading};
use std::time::Instant;

/// Reports what happened on the machine and in the measured process tree since the previous
/// call. The first call after construction primes it; the tracker discards that one.
pub trait ActivitySource: Send {
    /// Activity since the previous call.
    fn sample(&mut self) -> Result<Activity, MeterError>;
}

/// A meter that reports a fixed power for one device, for demos (`--meter constant`), for
/// reproducible benchmarks of the tracker itself, and for tests. Its numbers are **modelled**
/// (a constant, not a sensor), and the whole device is attributed to the measured tree.
#[derive(Debug, Clone)]
pub struct ConstantPowerMeter {
    component: Component,
    watts: f64,
    device: String,
    model: String,
    last: Option<Instant>,
}

impl ConstantPowerMeter {
    /// A device of kind `component` drawing `watts` all the time (negative or non-finite
    /// values count as 0).
    pub fn new(component: Component, watts: f64) -> ConstantPowerMeter {
        let watts = if watts.is_finite() {
            watts.max(0.0)
        } else {
            0.0
        };
        ConstantPowerMeter {
            component,
            watts,
            device: format!("constant {} ({watts} W)", component.as_str()),
            model: format!("constant {watts} W (--meter constant)"),
            last: None,
        }
    }

    /// The power it reports.
    pub fn watts(&self) -> f64 {
        self.watts
    }
}

impl Meter for ConstantPowerMeter {
    fn name(&self) -> &'static str {
        "constant"
    }

    fn start(&mut self) -> Result<(), MeterError> {
        self.last = Some(Instant::now());
        Ok(())
    }

    fn sample(&mut self, _activity: &Activity) -> Result<Vec<Reading>, MeterError> {
        let now = Instant::now();
        let secs = self
            .last
            .map_or(0.0, |t| now.duration_since(t).as_secs_f64());
        self.last = Some(now);
        let energy = Joules(self.watts * secs);
        Ok(vec![Reading {
            component: self.component,
            device: self.device.clone(),
            device_energy: energy,
            attributed: energy,
            method: Method::Modelled {
                model: self.model.clone(),
            },
        }])
    }
}

/// A machine running at a fixed CPU utilisation, with the measured tree using a fixed share of
/// it and fixed memory figures; the interval length is real (monotonic clock). For demos and
/// tests where `/proc` is not the point.
#[derive(Debug, Clone)]
pub struct SyntheticActivity {
    /// Logical CPUs.
    pub cpus: usize,
    /// Machine CPU utilisation, `[0, 1]`.
    pub utilisation: f64,
    /// The tree's share of the busy CPU time, `[0, 1]`.
    pub tree_share: f64,
    /// Total memory, bytes.
    pub total_memory_bytes: u64,
    /// Memory in use, bytes.
    pub used_memory_bytes: u64,
    /// The tree's resident memory, bytes.
    pub tree_rss_bytes: u64,
    last: Option<Instant>,
}

impl SyntheticActivity {
    /// A machine with `cpus` CPUs at `utilisation`, the tree using `tree_share` of the busy
    /// time; 16 GiB of memory, 4 GiB in use, 1 GiB of it the tree's.
    pub fn new(cpus: usize, utilisation: f64, tree_share: f64) -> SyntheticActivity {
        SyntheticActivity {
            cpus,
            utilisation: utilisation.clamp(0.0, 1.0),
            tree_share: tree_share.clamp(0.0, 1.0),
            total_memory_bytes: 16 << 30,
            used_memory_bytes: 4 << 30,
            tree_rss_bytes: 1 << 30,
            last: None,
        }
    }
}

impl ActivitySource for SyntheticActivity {
    fn sample(&mut self) -> Result<Activity, MeterError> {
        let now = Instant::now();
        let seconds = self
            .last
            .map_or(0.0, |t| now.duration_since(t).as_secs_f64());
        self.last = Some(now);
        let busy = seconds * self.cpus as f64 * self.utilisation;
        Ok(Activity {
            seconds,
            tree_cpu_seconds: busy * self.tree_share,
            busy_cpu_seconds: busy,
            cpus: self.cpus,
            tree_rss_bytes: self.tree_rss_bytes,
            used_memory_bytes: self.used_memory_bytes,
            total_memory_bytes: self.total_memory_bytes,
            pids: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_constant_meter_integrates_its_power_over_real_time() {
        let mut m = ConstantPowerMeter::new(Component::Gpu, 200.0);
        m.start().unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let r = m.sample(&Activity::default()).unwrap();
        assert_eq!(r.len(), 1);
        assert!(r[0].device_energy.0 >= 200.0 * 0.03 && r[0].device_energy.0 < 200.0 * 1.0);
        assert_eq!(r[0].attributed, r[0].device_energy);
        assert!(matches!(r[0].method, Method::Modelled { .. }));
    }

    #[test]
    fn synthetic_activity_scales_with_time() {
        let mut a = SyntheticActivity::new(8, 0.5, 0.25);
        assert_eq!(a.sample().unwrap().seconds, 0.0, "the first call primes");
        std::thread::sleep(Duration::from_millis(20));
        let s = a.sample().unwrap();
        assert!(s.seconds >= 0.02);
        assert!((s.busy_cpu_seconds - s.seconds * 4.0).abs() < 1e-9);
        assert!((s.cpu_share() - 0.25).abs() < 1e-9);
    }
}
