//! [`RaplMeter`]: CPU package and DRAM energy from the Linux powercap interface to RAPL
//! (Running Average Power Limit) counters, `/sys/class/powercap/intel-rapl:*`.
//!
//! Layout read (Intel, and AMD Zen, which the kernel exposes under the same `intel-rapl` names):
//! - `<root>/intel-rapl:N/` with `name` = `package-N`: a CPU package → [`Component::Cpu`],
//!   device `package-N`. A top-level zone named `psys` (the whole platform on client Intel
//!   parts) is not reported: it contains the package and DRAM energy, and would count them twice.
//! - `<root>/intel-rapl:N:M/` (the class directory lists sub-zones flat; they are also looked
//!   for inside the package directory) with `name` = `dram` → [`Component::Ram`], device
//!   `dram-N`. The `core` and `uncore` sub-zones are parts of the package energy and are skipped.
//! - In each zone, `energy_uj` (a counter in microjoules) and `max_energy_range_uj`.
//!
//! **Wrap-around.** `energy_uj` counts up through `0..=max_energy_range_uj` and then restarts at
//! 0. The kernel computes `max_energy_range_uj` as the largest raw value of the 32-bit hardware
//! counter (`0xFFFF_FFFF`) times the energy unit, so the true modulus is `max + one energy unit`
//! (15.3–61 µJ on current parts, not exposed in sysfs). kite uses `max + 1` µJ: when
//! `now < previous`, `delta = (max + 1 − previous) + now`. The error is below one energy unit per
//! wrap, i.e. under 61 µJ in the ~262 kJ a wrap takes. One wrap per interval is detected; a second
//! is not, so the sampling interval must stay below `max_energy_range_uj / peak power` (about
//! 20 minutes for a 200 W package with the common 262 kJ range).
//!
//! **Attribution.** Package energy × [`Activity::cpu_share`]. DRAM energy × the same CPU-time
//! share, not the share of resident memory: what RAPL measures for DRAM beyond its background
//! (refresh) power is driven by memory traffic, which code running on the CPUs generates, and a
//! process holding memory while it sleeps causes none. Sharing by resident size would charge an
//! idle process holding a large heap for the traffic of others. The background part is shared
//! like the package's idle power, by who used the machine. (Kepler attributes DRAM energy the
//! same way, by CPU time when it has no cache-miss counters.) The model meter shares memory by
//! resident size instead, because its input is a capacity model (watts per GB in use).
//!
//! Invariant: a counter that exists but cannot be read is an error
//! ([`MeterError::RaplPermission`] for `EACCES`, root-only since CVE-2020-8694), never a zero.

use crate::{Activity, Component, Meter, MeterError, Method, Reading};
use kite_core::Joules;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Where the kernel exposes powercap zones.
pub const DEFAULT_POWERCAP_ROOT: &str = "/sys/class/powercap";

/// One RAPL counter being followed.
#[derive(Debug)]
struct Zone {
    /// `package-N` or `dram-N`.
    device: String,
    component: Component,
    energy_path: PathBuf,
    /// `max_energy_range_uj + 1`: the counter's modulus in µJ (see the module doc).
    modulus_uj: u64,
    /// The counter at the previous read.
    last_uj: u64,
}

/// CPU package and DRAM energy from RAPL counters in a powercap tree.
#[derive(Debug)]
pub struct RaplMeter {
    zones: Vec<Zone>,
}

impl RaplMeter {
    /// Finds the package and DRAM zones under `sysfs_root` (normally
    /// [`DEFAULT_POWERCAP_ROOT`]) and reads every counter once, so that an unreadable counter is
    /// reported here and the first [`Meter::sample`] covers the time since this call.
    pub fn discover(sysfs_root: &Path) -> Result<RaplMeter, MeterError> {
        let not_found = || MeterError::RaplNotFound {
            root: sysfs_root.to_path_buf(),
        };
        let entries = fs::read_dir(sysfs_root).map_err(|_| not_found())?;
        let mut top: Vec<(u32, PathBuf)> = Vec::new();
        let mut sub: Vec<(u32, u32, PathBuf)> = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            match name.to_str().map(parse_zone_name) {
                Some(Some((n, None))) => top.push((n, entry.path())),
                Some(Some((n, Some(m)))) => sub.push((n, m, entry.path())),
                _ => {}
            }
        }
        // Sub-zones nested in the package directory, when the class directory does not list
        // them flat.
        for (n, path) in &top {
            let Ok(inner) = fs::read_dir(path) else {
                continue;
            };
            for entry in inner.flatten() {
                if let Some(Some((pn, Some(m)))) = entry.file_name().to_str().map(parse_zone_name)
                    && pn == *n
                    && !sub.iter().any(|(a, b, _)| (*a, *b) == (pn, m))
                {
                    sub.push((pn, m, entry.path()));
                }
            }
        }
        top.sort();
        sub.sort();

        let mut zones = Vec::new();
        for (n, path) in &top {
            let name = read_name(path)?;
            if !name.starts_with("package-") {
                continue; // psys, or a zone kite does not know
            }
            let package = name.trim_start_matches("package-").to_string();
            zones.push(Zone::open(name, Component::Cpu, path)?);
            for (_, _, sub_path) in sub.iter().filter(|(pn, _, _)| pn == n) {
                if read_name(sub_path)? == "dram" {
                    zones.push(Zone::open(
                        format!("dram-{package}"),
                        Component::Ram,
                        sub_path,
                    )?);
                }
            }
        }
        if !zones.iter().any(|z| z.component == Component::Cpu) {
            return Err(not_found());
        }
        Ok(RaplMeter { zones })
    }

    /// The devices this meter reports, in order: `(component, device)`.
    pub fn devices(&self) -> Vec<(Component, &str)> {
        self.zones
            .iter()
            .map(|z| (z.component, z.device.as_str()))
            .collect()
    }

    /// Whether any package has a DRAM domain (many AMD and client parts have none; the caller
    /// then models RAM).
    pub fn has_dram(&self) -> bool {
        self.zones.iter().any(|z| z.component == Component::Ram)
    }

    /// Reads every counter; all or nothing, so a failed read loses no energy.
    fn read_all(&self) -> Result<Vec<u64>, MeterError> {
        self.zones
            .iter()
            .map(|z| read_counter(&z.energy_path))
            .collect()
    }
}

impl Zone {
    fn open(device: String, component: Component, dir: &Path) -> Result<Zone, MeterError> {
        let energy_path = dir.join("energy_uj");
        let last_uj = read_counter(&energy_path)?;
        let max = read_counter(&dir.join("max_energy_range_uj"))?;
        if max == 0 {
            return Err(MeterError::parse(
                dir.join("max_energy_range_uj"),
                "a positive counter range in microjoules",
                "0",
            ));
        }
        Ok(Zone {
            device,
            component,
            energy_path,
            modulus_uj: max.saturating_add(1),
            last_uj,
        })
    }
}

impl Meter for RaplMeter {
    fn name(&self) -> &'static str {
        "rapl"
    }

    fn start(&mut self) -> Result<(), MeterError> {
        let now = self.read_all()?;
        for (zone, value) in self.zones.iter_mut().zip(now) {
            zone.last_uj = value;
        }
        Ok(())
    }

    fn sample(&mut self, activity: &Activity) -> Result<Vec<Reading>, MeterError> {
        let now = self.read_all()?;
        let share = activity.cpu_share();
        let mut readings = Vec::with_capacity(self.zones.len());
        for (zone, value) in self.zones.iter_mut().zip(now) {
            let delta_uj = counter_delta(zone.last_uj, value, zone.modulus_uj);
            zone.last_uj = value;
            let device_energy = Joules(delta_uj as f64 * 1e-6);
            readings.push(Reading {
                component: zone.component,
                device: zone.device.clone(),
                device_energy,
                attributed: device_energy * share,
                method: Method::Measured {
                    sensor: "rapl",
                    detail: "RAPL energy_uj counter; attributed by CPU-time share".to_string(),
                },
            });
        }
        Ok(readings)
    }
}

/// Energy between two readings of a counter with the given modulus (see the module doc).
pub(crate) fn counter_delta(previous: u64, now: u64, modulus: u64) -> u64 {
    if now >= previous {
        now - previous
    } else {
        modulus.saturating_sub(previous).saturating_add(now)
    }
}

/// `intel-rapl:N` → `(N, None)`, `intel-rapl:N:M` → `(N, Some(M))`; anything else (including
/// `intel-rapl-mmio:N`, a second view of the same package counter) → `None`.
fn parse_zone_name(name: &str) -> Option<(u32, Option<u32>)> {
    let rest = name.strip_prefix("intel-rapl:")?;
    match rest.split_once(':') {
        None => Some((rest.parse().ok()?, None)),
        Some((n, m)) => Some((n.parse().ok()?, Some(m.parse().ok()?))),
    }
}

fn read_name(dir: &Path) -> Result<String, MeterError> {
    let path = dir.join("name");
    fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(|e| MeterError::read(path, e))
}

/// Reads a counter file in microjoules.
fn read_counter(path: &Path) -> Result<u64, MeterError> {
    let text = fs::read_to_string(path).map_err(|e| counter_read_error(path, e))?;
    text.trim()
        .parse()
        .map_err(|_| MeterError::parse(path, "an unsigned integer in microjoules", &text))
}

/// The one place a failed counter read becomes an error: `EACCES` is the permission problem
/// users can fix, everything else a plain read error.
pub(crate) fn counter_read_error(path: &Path, source: io::Error) -> MeterError {
    if source.kind() == io::ErrorKind::PermissionDenied {
        MeterError::RaplPermission {
            path: path.to_path_buf(),
            source,
        }
    } else {
        MeterError::read(path, source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_denied_maps_to_the_permission_error_with_the_fix() {
        let path = Path::new("/sys/class/powercap/intel-rapl:0/energy_uj");
        let err = counter_read_error(path, io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(matches!(&err, MeterError::RaplPermission { path: p, .. } if p == path));
        let message = err.to_string();
        for needle in [
            "intel-rapl:0/energy_uj",
            "CVE-2020-8694",
            "Platypus",
            "sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj",
            "udev",
            "setcap cap_dac_read_search+ep",
            "falls back",
        ] {
            assert!(
                message.contains(needle),
                "{needle:?} missing from: {message}"
            );
        }
        let other = counter_read_error(path, io::Error::from(io::ErrorKind::NotFound));
        assert!(matches!(other, MeterError::Read { .. }));
    }

    #[test]
    fn deltas_wrap_at_max_plus_one() {
        assert_eq!(counter_delta(100, 350, 1000), 250);
        assert_eq!(counter_delta(900, 50, 1000), 150);
        assert_eq!(counter_delta(999, 0, 1000), 1);
        assert_eq!(counter_delta(7, 7, 1000), 0);
    }

    #[test]
    fn zone_names() {
        assert_eq!(parse_zone_name("intel-rapl:0"), Some((0, None)));
        assert_eq!(parse_zone_name("intel-rapl:1:0"), Some((1, Some(0))));
        assert_eq!(parse_zone_name("intel-rapl"), None);
        assert_eq!(parse_zone_name("intel-rapl-mmio:0"), None);
        assert_eq!(parse_zone_name("intel-rapl:x"), None);
    }
}
