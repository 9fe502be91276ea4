//! [`ModelMeter`]: CPU and memory energy *modelled* from utilisation, for machines without
//! energy sensors (VMs, containers, CI runners). Every reading says which model and numbers
//! produced it ([`Method::Modelled`]).
//!
//! **CPU.** The CPU is identified by the `model name` of `/proc/cpuinfo` and given one of these
//! curves, tried in order (`u` = the machine's CPU utilisation over the interval,
//! [`Activity::machine_utilisation`]):
//! 1. *Known microarchitecture* → Cloud Carbon Footprint's linear model per logical CPU:
//!    `P = logical CPUs × (min + u × (max − min))`, with CCF's min/max watts per vCPU for that
//!    microarchitecture (`data/hardware/ccf-coefficients-aws-use.csv`, derived by CCF from
//!    SPECpower_ssj2008 results). The microarchitecture follows from the vendors' model-number
//!    rules ([`microarchitecture`]): Xeon Scalable `x1xx`…`x5xx` → Skylake … Emerald Rapids,
//!    Xeon E5/E7 v2–v4 → Ivy Bridge … Broadwell, Xeon 6 `6xxxP` → Granite Rapids, EPYC `7xx1`…
//!    `7xx3` → 1st–3rd Gen, EPYC `9xx4`/`8xx4`/`4xx4` → 4th Gen.
//! 2. *Known model, by TDP* → `P = sockets × TDP × (f + (1 − f) × u)` with the TDP from
//!    CodeCarbon's table (`codecarbon-cpu_power.csv.gz`), else the Green Software Foundation's
//!    (`gsf-if-data-tdp-data-1.csv.gz`), and `f` = [`IDLE_FRACTION_OF_TDP`] = 0.23: the median
//!    ratio of idle to full-load power over CCF's x86 microarchitectures (the same SPECpower
//!    data). Sockets are the distinct `physical id`s in cpuinfo. Full load is taken to draw TDP.
//! 3. *Unknown model* → the linear per-CPU model with the **mean** of CCF's coefficients over the
//!    family the name still reveals (`AMD EPYC` → EPYC 1st–4th Gen, `Intel Xeon` → the Xeon
//!    server microarchitectures), else over all x86 microarchitectures — CCF's own rule for an
//!    unknown microarchitecture. A per-CPU default scales with the machine: a 2-vCPU container
//!    on an unknown CPU is not charged a whole socket's TDP. A warning names the model.
//!
//! CCF's `EPYC 5th Gen` row (3.68–8.96 W per vCPU) is not used: its idle figure is above the
//! full-load figure of every other EPYC generation, and it would put a 384-thread EPYC 9965 at
//! 1.4 kW idle, far above its 500 W TDP. Zen 5 parts are matched by TDP instead. The Graviton
//! rows are copies of EPYC 2nd Gen and are not used for family means (ARM cpuinfo has no
//! `model name` to match anyway, so ARM machines get the all-x86 default and a warning).
//!
//! **Model-name matching.** Names are normalised on both sides: lower case; `(R)`, `(TM)`,
//! `®`, `™` removed; everything from `@` (the clock) or ` with ` (`with Radeon Graphics`) on
//! dropped; the words `intel`, `amd`, `cpu`, `processor`, `apu`, `Nth gen` and `N-core` dropped.
//! So `Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz` → `xeon gold 6248` and
//! `AMD EPYC 7642 48-Core Processor` → `epyc 7642`. A table row matches if its normalised name is
//! equal; failing that, if it has at least two words, all of them are in the queried name, and
//! they include the queried model number (the first word with a digit); the longest such row
//! wins. Rows with a TDP of 0 are ignored, and so is a name without a model number: GSF's
//! `Intel Xeon @ 2.20GHz` (61 W) describes one masked cloud CPU, not every Xeon.
//!
//! Scope of the CCF curve: SPECpower measures whole servers, so CCF's watts per vCPU cover the
//! server's share (CPU, baseline memory, board, fans, power-supply losses), not the CPU package
//! alone that RAPL reports. Modelled and RAPL CPU figures are therefore not directly comparable;
//! the modelled one is typically the larger.
//!
//! **Memory.** `P = 0.392 W per GiB in use` (`MemTotal − MemAvailable`), CCF's memory coefficient
//! (0.000392 kWh per GB-hour: the mean of Crucial's "3 W per 8 GB of DDR3 or DDR4", 0.375 W/GB,
//! and Micron's DDR4 power note, 0.408 W/GB; kite applies it per GiB, as procfs counts); the tree
//! gets its share of the memory in use (resident set / used, at most 1). Because the SPECpower
//! figures above already include some memory power, adding all memory in use counts a little
//! twice (CCF adds only memory beyond SPECpower's average per CPU; kite cannot tell that split
//! for an arbitrary machine). CodeCarbon 3 instead charges 5 W per DIMM of *installed* memory,
//! with the DIMM count guessed from its size; that describes the whole machine, not what a
//! process uses, so kite uses CCF's per-GB rule.
//!
//! **CPU attribution.** Device power × [`Activity::cpu_share`] (the tree's share of busy CPU
//! time), idle power included: whoever uses the machine carries its idle cost.

use crate::{Activity, Component, Meter, MeterError, Method, Reading};
use kite_core::Watts;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

/// Memory power per GiB in use, watts (CCF's 0.000392 kWh per GB-hour; see the module doc).
pub const MEMORY_WATTS_PER_GIB: f64 = 0.392;

/// Idle power as a fraction of TDP in the TDP curve: the median idle/max ratio over CCF's x86
/// microarchitectures (SPECpower_ssj2008), rounded to two decimals. A test recomputes it from
/// the embedded table.
pub const IDLE_FRACTION_OF_TDP: f64 = 0.23;

static CCF_USE_CSV: &str = include_str!("../../../data/hardware/ccf-coefficients-aws-use.csv");
static CODECARBON_TDP_GZ: &[u8] =
    include_bytes!("../../../data/hardware/codecarbon-cpu_power.csv.gz");
static GSF_TDP_GZ: &[u8] = include_bytes!("../../../data/hardware/gsf-if-data-tdp-data-1.csv.gz");

const BYTES_PER_GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// How CPU power depends on utilisation.
#[derive(Debug, Clone, PartialEq)]
pub enum CpuCurve {
    /// Linear per logical CPU: `cpus × (min + u × (max − min))` (CCF).
    PerLogicalCpu {
        /// Watts per logical CPU at 0 % utilisation.
        min_watts: f64,
        /// Watts per logical CPU at 100 % utilisation.
        max_watts: f64,
    },
    /// Linear per socket from [`IDLE_FRACTION_OF_TDP`] × TDP to TDP.
    Tdp {
        /// Thermal design power of one package.
        tdp_watts: f64,
        /// Number of packages.
        sockets: u32,
    },
}

impl CpuCurve {
    /// Power of the whole CPU at `utilisation` (clamped to `[0, 1]`) with `logical_cpus` online.
    pub fn power(&self, utilisation: f64, logical_cpus: usize) -> Watts {
        let u = if utilisation.is_finite() {
            utilisation.clamp(0.0, 1.0)
        } else {
            0.0
        };
        match *self {
            CpuCurve::PerLogicalCpu {
                min_watts,
                max_watts,
            } => Watts(logical_cpus as f64 * (min_watts + u * (max_watts - min_watts))),
            CpuCurve::Tdp { tdp_watts, sockets } => Watts(
                f64::from(sockets)
                    * tdp_watts
                    * (IDLE_FRACTION_OF_TDP + (1.0 - IDLE_FRACTION_OF_TDP) * u),
            ),
        }
    }
}

/// The power model chosen for one CPU, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuPowerModel {
    /// The `model name` as read from `/proc/cpuinfo`.
    pub model_name: String,
    /// The curve used.
    pub curve: CpuCurve,
    /// The model and its numbers in words, as they appear in [`Method::Modelled`].
    pub description: String,
    /// Set when the CPU was not found and a default was used; names the model.
    pub warning: Option<String>,
}

impl CpuPowerModel {
    /// The model for a CPU named `model_name` (as in `/proc/cpuinfo`) with `sockets` packages.
    pub fn for_cpu(model_name: &str, sockets: u32) -> CpuPowerModel {
        let key = normalise(model_name);
        let shown = model_name.trim();
        let ccf = ccf_table();
        if let Some(arch) = microarchitecture(&key)
            && let Some(c) = ccf.iter().find(|c| c.architecture == arch)
        {
            return CpuPowerModel {
                model_name: shown.to_string(),
                curve: CpuCurve::PerLogicalCpu {
                    min_watts: c.min_watts,
                    max_watts: c.max_watts,
                },
                description: format!(
                    "CCF linear per logical CPU, {arch} ({shown}): {:.2} W at idle to {:.2} W at \
                     full load × utilisation; attributed by CPU-time share",
                    c.min_watts, c.max_watts
                ),
                warning: None,
            };
        }
        if let Some((row, tdp, source)) = lookup_tdp(&key) {
            let sockets = sockets.max(1);
            return CpuPowerModel {
                model_name: shown.to_string(),
                curve: CpuCurve::Tdp {
                    tdp_watts: tdp,
                    sockets,
                },
                description: format!(
                    "TDP linear, {row} ({source}) {tdp} W × {sockets} socket(s): {:.0} % of TDP at \
                     idle to 100 % at full load × utilisation; attributed by CPU-time share",
                    IDLE_FRACTION_OF_TDP * 100.0
                ),
                warning: None,
            };
        }
        let (family, rows): (&str, Vec<&CcfRow>) = if key.split(' ').any(|w| w == "epyc") {
            (
                "AMD EPYC 1st–4th Gen",
                ccf.iter()
                    .filter(|c| c.architecture.starts_with("EPYC"))
                    .collect(),
            )
        } else if key.split(' ').any(|w| w == "xeon") {
            (
                "Intel Xeon server",
                ccf.iter()
                    .filter(|c| XEON_ARCHITECTURES.contains(&c.architecture.as_str()))
                    .collect(),
            )
        } else {
            ("all x86", ccf.iter().collect())
        };
        let n = rows.len().max(1) as f64;
        let min_watts = rows.iter().map(|c| c.min_watts).sum::<f64>() / n;
        let max_watts = rows.iter().map(|c| c.max_watts).sum::<f64>() / n;
        let why = if key.chars().any(|c| c.is_ascii_digit()) {
            "is not in kite's CPU power tables"
        } else {
            "has no model number to look up (common in VMs and sandboxes)"
        };
        CpuPowerModel {
            model_name: shown.to_string(),
            curve: CpuCurve::PerLogicalCpu {
                min_watts,
                max_watts,
            },
            description: format!(
                "CCF linear per logical CPU, default for unknown CPU {shown:?}: mean of {family} \
                 microarchitectures, {min_watts:.2} W at idle to {max_watts:.2} W at full load × \
                 utilisation; attributed by CPU-time share"
            ),
            warning: Some(format!(
                "CPU model {shown:?} (from /proc/cpuinfo) {why}; modelling it with the mean of \
                 CCF's {family} coefficients, {min_watts:.2}–{max_watts:.2} W per logical CPU. \
                 CPU energy is a rough estimate; measure with RAPL on bare metal where possible"
            )),
        }
    }
}

/// The CCF microarchitectures that are Intel Xeon server parts (for the `Intel Xeon` default).
const XEON_ARCHITECTURES: &[&str] = &[
    "Sandy Bridge",
    "Ivy Bridge",
    "Haswell",
    "Broadwell",
    "Skylake",
    "Cascade Lake",
    "Ice Lake",
    "Sapphire Rapids",
    "Emerald Rapids",
    "Granite Rapids",
];

/// CPU and memory energy from a documented power model.
#[derive(Debug, Clone)]
pub struct ModelMeter {
    cpu: Option<CpuPowerModel>,
    warnings: Vec<String>,
}

impl ModelMeter {
    /// Models CPU and RAM, identifying the CPU from `<proc_root>/cpuinfo` (normally `/proc`).
    /// Never fails: an unreadable cpuinfo gives the default model and a warning.
    pub fn detect(proc_root: &Path) -> ModelMeter {
        let path = proc_root.join("cpuinfo");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let (name, sockets) = parse_cpuinfo(&text);
                let mut meter = ModelMeter::for_cpu(CpuPowerModel::for_cpu(
                    name.as_deref().unwrap_or(""),
                    sockets,
                ));
                if name.is_none() {
                    meter
                        .warnings
                        .insert(0, format!("{} has no `model name` line", path.display()));
                }
                meter
            }
            Err(e) => {
                let mut meter = ModelMeter::for_cpu(CpuPowerModel::for_cpu("", 1));
                meter.warnings.insert(
                    0,
                    format!(
                        "cannot read {}: {e}; the CPU model is unknown",
                        path.display()
                    ),
                );
                meter
            }
        }
    }

    /// Models CPU and RAM with a given CPU model.
    pub fn for_cpu(cpu: CpuPowerModel) -> ModelMeter {
        let warnings = cpu.warning.iter().cloned().collect();
        ModelMeter {
            cpu: Some(cpu),
            warnings,
        }
    }

    /// Models RAM only (for a machine whose CPU is measured by RAPL without a DRAM domain).
    pub fn ram_only() -> ModelMeter {
        ModelMeter {
            cpu: None,
            warnings: Vec::new(),
        }
    }

    /// The CPU model, unless this meter models RAM only.
    pub fn cpu_model(&self) -> Option<&CpuPowerModel> {
        self.cpu.as_ref()
    }

    /// Things the user should know about the numbers (an unknown CPU, an unreadable cpuinfo).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

impl Meter for ModelMeter {
    fn name(&self) -> &'static str {
        "model"
    }

    fn start(&mut self) -> Result<(), MeterError> {
        Ok(())
    }

    fn sample(&mut self, activity: &Activity) -> Result<Vec<Reading>, MeterError> {
        let seconds = if activity.seconds.is_finite() {
            activity.seconds.max(0.0)
        } else {
            0.0
        };
        let mut readings = Vec::with_capacity(2);
        if let Some(cpu) = &self.cpu {
            let power = cpu
                .curve
                .power(activity.machine_utilisation(), activity.cpus.max(1));
            let device_energy = power.over_seconds(seconds);
            readings.push(Reading {
                component: Component::Cpu,
                device: format!(
                    "CPU ({}, {} logical CPUs)",
                    if cpu.model_name.is_empty() {
                        "unknown model"
                    } else {
                        &cpu.model_name
                    },
                    activity.cpus.max(1)
                ),
                device_energy,
                attributed: device_energy * activity.cpu_share(),
                method: Method::Modelled {
                    model: cpu.description.clone(),
                },
            });
        }
        let used_gib = activity.used_memory_bytes as f64 / BYTES_PER_GIB;
        let device_energy = Watts(used_gib * MEMORY_WATTS_PER_GIB).over_seconds(seconds);
        let share = if activity.used_memory_bytes > 0 {
            (activity.tree_rss_bytes as f64 / activity.used_memory_bytes as f64).clamp(0.0, 1.0)
        } else {
            0.0
        };
        readings.push(Reading {
            component: Component::Ram,
            device: format!(
                "RAM ({:.1} GiB)",
                activity.total_memory_bytes as f64 / BYTES_PER_GIB
            ),
            device_energy,
            attributed: device_energy * share,
            method: Method::Modelled {
                model: format!(
                    "CCF memory {MEMORY_WATTS_PER_GIB} W per GiB in use; attributed by \
                     resident-memory share"
                ),
            },
        });
        Ok(readings)
    }
}

/// `model name` of the first processor, and the number of distinct `physical id`s (at least 1).
fn parse_cpuinfo(text: &str) -> (Option<String>, u32) {
    let mut name = None;
    let mut sockets: Vec<&str> = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key.trim() {
            "model name" if name.is_none() => name = Some(value.trim().to_string()),
            "physical id" => {
                let id = value.trim();
                if !sockets.contains(&id) {
                    sockets.push(id);
                }
            }
            _ => {}
        }
    }
    (name, (sockets.len() as u32).max(1))
}

/// Normalises a CPU model name for matching (see the module doc).
pub(crate) fn normalise(name: &str) -> String {
    let mut s = name.to_lowercase();
    for mark in ["(r)", "(tm)", "(c)", "®", "™"] {
        s = s.replace(mark, " ");
    }
    if let Some(i) = s.find('@') {
        s.truncate(i);
    }
    if let Some(i) = s.find(" with ") {
        s.truncate(i);
    }
    // Anything but letters, digits and the joiners of model numbers separates words (this also
    // drops the zero-width spaces a few upstream rows carry).
    let s: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-+./_".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    let words: Vec<&str> = s.split_whitespace().collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let ordinal = ["st", "nd", "rd", "th"].iter().any(|suffix| {
            w.strip_suffix(suffix)
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        });
        if ordinal && words.get(i + 1) == Some(&"gen") {
            i += 2;
            continue;
        }
        if !(["intel", "amd", "cpu", "processor", "apu"].contains(&w) || w.ends_with("-core")) {
            out.push(w);
        }
        i += 1;
    }
    out.join(" ")
}

/// The CCF microarchitecture of a normalised model name, from the vendors' numbering rules.
pub(crate) fn microarchitecture(key: &str) -> Option<&'static str> {
    let words: Vec<&str> = key.split(' ').collect();
    let digits = |w: &str| -> Vec<u32> { w.chars().filter_map(|c| c.to_digit(10)).collect() };
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or("");
        match *w {
            "epyc" => {
                // EPYC model numbers: series, two performance characters, generation.
                let chars: Vec<char> = next.chars().collect();
                if chars.len() < 4 || !chars[0].is_ascii_digit() || !chars[3].is_ascii_digit() {
                    return None;
                }
                return match (chars[0], chars[3]) {
                    ('7', '1') => Some("EPYC 1st Gen"),
                    ('7', '2') => Some("EPYC 2nd Gen"),
                    ('7', '3') => Some("EPYC 3rd Gen"),
                    ('9' | '8' | '4', '4') => Some("EPYC 4th Gen"),
                    _ => None,
                };
            }
            "xeon" => {
                if ["platinum", "gold", "silver", "bronze"].contains(&next) {
                    let model = words.get(i + 2).copied().unwrap_or("");
                    let d = digits(model);
                    if d.len() != 4 {
                        return None;
                    }
                    // Cooper Lake (x3xxH) has no CCF row.
                    if d[1] == 3 && (model.ends_with('h') || model.ends_with("hl")) {
                        return None;
                    }
                    return match d[1] {
                        1 => Some("Skylake"),
                        2 => Some("Cascade Lake"),
                        3 => Some("Ice Lake"),
                        4 => Some("Sapphire Rapids"),
                        5 => Some("Emerald Rapids"),
                        _ => None,
                    };
                }
                if next.starts_with("e5-") || next.starts_with("e7-") {
                    let version = words.get(i + 2).copied().unwrap_or("");
                    return match (next.starts_with("e5-"), version) {
                        (_, "v2") => Some("Ivy Bridge"),
                        (_, "v3") => Some("Haswell"),
                        (_, "v4") => Some("Broadwell"),
                        (true, v) if !v.starts_with('v') => Some("Sandy Bridge"),
                        _ => None,
                    };
                }
                if next.len() == 5 && next.starts_with('6') && next.ends_with('p') {
                    return (digits(next).len() == 4).then_some("Granite Rapids");
                }
                return None;
            }
            _ => {}
        }
    }
    None
}

/// One row of CCF's use coefficients.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CcfRow {
    pub(crate) architecture: String,
    pub(crate) min_watts: f64,
    pub(crate) max_watts: f64,
}

/// CCF's coefficients, without the rows kite does not use (see the module doc).
pub(crate) fn ccf_table() -> &'static [CcfRow] {
    static TABLE: OnceLock<Vec<CcfRow>> = OnceLock::new();
    TABLE.get_or_init(|| {
        CCF_USE_CSV
            .lines()
            .skip(1)
            .filter_map(|line| {
                let f: Vec<&str> = line.trim().split(',').collect();
                let row = CcfRow {
                    architecture: f.get(1)?.trim().to_string(),
                    min_watts: f.get(2)?.trim().parse().ok()?,
                    max_watts: f.get(3)?.trim().parse().ok()?,
                };
                let used = row.architecture != "EPYC 5th Gen"
                    && !row.architecture.starts_with("Graviton")
                    && row.min_watts > 0.0
                    && row.max_watts >= row.min_watts;
                used.then_some(row)
            })
            .collect()
    })
}

/// TDP rows by normalised name: (name as published, TDP watts, source).
type TdpTable = HashMap<String, (String, f64, &'static str)>;

fn tdp_table() -> &'static TdpTable {
    static TABLE: OnceLock<TdpTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = TdpTable::new();
        // CodeCarbon first: a GSF row only fills a name CodeCarbon lacks.
        for (bytes, source) in [
            (CODECARBON_TDP_GZ, "CodeCarbon 3.3.2 cpu_power.csv"),
            (GSF_TDP_GZ, "GSF if-data tdp-data-1.csv"),
        ] {
            let mut text = String::new();
            if flate2::read::GzDecoder::new(bytes)
                .read_to_string(&mut text)
                .is_err()
            {
                continue; // compiled-in data; a test proves it decodes
            }
            for line in text.lines().skip(1) {
                let Some((name, tdp)) = line.trim().rsplit_once(',') else {
                    continue;
                };
                let Ok(tdp) = tdp.trim().parse::<f64>() else {
                    continue;
                };
                let name = name.trim().trim_matches('"').trim();
                if !tdp.is_finite() || tdp <= 0.0 || name.is_empty() {
                    continue;
                }
                table
                    .entry(normalise(name))
                    .or_insert_with(|| (name.to_string(), tdp, source));
            }
        }
        table
    })
}

/// The TDP row for a normalised name (see the module doc for the matching rule).
fn lookup_tdp(key: &str) -> Option<(String, f64, &'static str)> {
    let words: Vec<&str> = key.split(' ').collect();
    let model_number = words
        .iter()
        .find(|w| w.chars().any(|c| c.is_ascii_digit()))?;
    let table = tdp_table();
    if let Some(row) = table.get(key) {
        return Some(row.clone());
    }
    table
        .iter()
        .filter(|(k, _)| {
            let row_words: Vec<&str> = k.split(' ').collect();
            // A bare model number (CodeCarbon lists some Opterons as `4226`) names no family.
            row_words.len() >= 2
                && row_words.contains(model_number)
                && row_words.iter().all(|w| words.contains(w))
        })
        .max_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| b.0.cmp(a.0)))
        .map(|(_, row)| row.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise() {
        for (raw, want) in [
            ("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "xeon gold 6248"),
            ("AMD EPYC 7642 48-Core Processor", "epyc 7642"),
            ("13th Gen Intel(R) Core(TM) i7-13700K", "core i7-13700k"),
            (
                "AMD Ryzen 7 PRO 6850U with Radeon Graphics",
                "ryzen 7 pro 6850u",
            ),
            (
                "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz",
                "xeon e5-2686 v4",
            ),
            ("AMD EPYC", "epyc"),
            ("Intel(R) Xeon(R) CPU @ 2.20GHz", "xeon"),
        ] {
            assert_eq!(normalise(raw), want, "{raw}");
        }
    }

    #[test]
    fn microarchitectures_follow_model_numbers() {
        for (name, want) in [
            (
                "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz",
                Some("Cascade Lake"),
            ),
            (
                "Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz",
                Some("Skylake"),
            ),
            (
                "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
                Some("Ice Lake"),
            ),
            ("Intel(R) Xeon(R) Platinum 8480+", Some("Sapphire Rapids")),
            ("INTEL(R) XEON(R) PLATINUM 8581C", Some("Emerald Rapids")),
            ("Intel(R) Xeon(R) 6980P", Some("Granite Rapids")),
            (
                "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz",
                Some("Broadwell"),
            ),
            ("Intel(R) Xeon(R) CPU E5-2670 v3 @ 2.30GHz", Some("Haswell")),
            (
                "Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz",
                Some("Sandy Bridge"),
            ),
            ("AMD EPYC 7B13", Some("EPYC 3rd Gen")),
            ("AMD EPYC 7R32", Some("EPYC 2nd Gen")),
            ("AMD EPYC 7551 32-Core Processor", Some("EPYC 1st Gen")),
            ("AMD EPYC 9654 96-Core Processor", Some("EPYC 4th Gen")),
            ("AMD EPYC 9965 192-Core Processor", None),
            ("AMD EPYC", None),
            ("Intel(R) Core(TM) i7-13700K", None),
        ] {
            assert_eq!(microarchitecture(&normalise(name)), want, "{name}");
        }
    }

    #[test]
    fn embedded_tables_decode_and_idle_fraction_matches_them() {
        let ccf = ccf_table();
        assert_eq!(ccf.len(), 15, "{ccf:?}");
        let mut ratios: Vec<f64> = ccf.iter().map(|c| c.min_watts / c.max_watts).collect();
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        assert!((median - IDLE_FRACTION_OF_TDP).abs() < 0.005, "{median}");
        assert!(tdp_table().len() > 5000, "{}", tdp_table().len());
    }

    #[test]
    fn tdp_lookup_prefers_codecarbon_and_fills_from_gsf() {
        let (_, tdp, source) =
            lookup_tdp(&normalise("AMD Ryzen 9 7950X 16-Core Processor")).unwrap();
        assert_eq!((tdp, source), (170.0, "CodeCarbon 3.3.2 cpu_power.csv"));
        let (_, tdp, source) =
            lookup_tdp(&normalise("13th Gen Intel(R) Core(TM) i7-13700K")).unwrap();
        assert_eq!((tdp, source), (125.0, "GSF if-data tdp-data-1.csv"));
        assert!(lookup_tdp("epyc").is_none());
    }
}
