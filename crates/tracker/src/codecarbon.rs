//! `emissions.csv` in CodeCarbon's format, so existing notebooks and dashboards read kite's runs.
//!
//! The header is CodeCarbon 3.3's 38 columns, byte for byte ([`HEADER`]), and the units are
//! CodeCarbon's: `duration` s, `emissions` kgCO2e, `emissions_rate` kg/s, `*_power` W, `*_energy`
//! and `energy_consumed` kWh, `water_consumed` L, `ram_total_size` and `ram_used_gb` GB
//! (bytes / 1024³), `*_percent` 0–100. One row per run, appended at the end of the run.
//!
//! Where kite differs, on purpose, and why:
//! - As in CodeCarbon, `*_power`, `*_energy` and `energy_consumed` **include PUE**, and
//!   `emissions` is `energy_consumed` × intensity; kite's intensity is the grid intensity of each
//!   interval, not one average for the run. Embodied carbon is not in `emissions` (CodeCarbon has
//!   none); it is in kite's own record.
//! - `water_consumed` is kite's operational water, on-site plus off-site
//!   (`energy × (WUE + PUE × off-site water intensity)`); CodeCarbon counts only `wue × energy`.
//!   The `wue` column is the on-site WUE.
//! - `*_power` is the mean power of the run (energy / duration), not the mean of sampled powers.
//! - `timestamp` is the end of the run in **UTC**, written like CodeCarbon's
//!   (`2026-03-01T12:00:00`, no offset); CodeCarbon writes local time.
//! - `region` is kite's grid zone key (e.g. `US-CAL-CISO`); `codecarbon_version` says
//!   `kite <version>`, so rows from both tools can be told apart; `python_version` is empty
//!   unless the caller sets one; an unknown `gpu_utilization_percent` is left empty.
//! - An existing file whose header has the same columns (in any order, as CodeCarbon checks) is
//!   appended to, values in the file's column order. An existing file with **other** columns is
//!   never modified: like CodeCarbon, kite renames it to `emissions.csv.bak` (or
//!   `emissions.csv_N.bak` if that exists, never overwriting) and starts a new file; the rename
//!   is reported in [`CsvAppend::BackedUp`] and logged.

use crate::error::TrackerError;
use crate::record::RunRecord;
use kite_meter::Component;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// CodeCarbon 3.3's `emissions.csv` header, without the line ending.
pub const HEADER: &str = "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,country_iso_code,region,cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,ram_total_size,tracking_mode,cpu_utilization_percent,gpu_utilization_percent,ram_utilization_percent,ram_used_gb,on_cloud,pue,wue";

/// Facts about the machine that the row needs and the run record does not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct HostInfo {
    /// Operating system, e.g. `Linux-6.8.0-x86_64` (CodeCarbon writes `platform.platform()`).
    pub os: String,
    /// Left empty by kite; set it when tracking a Python program if wanted.
    pub python_version: String,
    /// Written in the `codecarbon_version` column; `kite <version>` by default.
    pub tool_version: String,
    /// Logical CPUs.
    pub cpu_count: usize,
    /// CPU model name.
    pub cpu_model: String,
    /// GPU names, one per GPU.
    pub gpus: Vec<String>,
    /// Longitude, if known.
    pub longitude: Option<f64>,
    /// Latitude, if known.
    pub latitude: Option<f64>,
    /// Total memory, GB (bytes / 1024³); used when the run's activity source did not report
    /// it.
    pub ram_total_gb: f64,
}

impl HostInfo {
    /// What can be read cheaply from this machine: OS and architecture, logical CPUs, and on
    /// Linux the CPU model (`/proc/cpuinfo`) and total memory (`/proc/meminfo`). GPUs are not
    /// looked for here (the meter crate knows them); unreadable facts stay empty.
    pub fn detect() -> HostInfo {
        let cpu_count = std::thread::available_parallelism().map_or(0, |n| n.get());
        let cpu_model = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default();
        let ram_total_gb = fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| {
                let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
                let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
                Some(kib * 1024.0 / (1024.0 * 1024.0 * 1024.0))
            })
            .unwrap_or(0.0);
        let os = match fs::read_to_string("/proc/sys/kernel/osrelease") {
            Ok(release) => format!("Linux-{}-{}", release.trim(), std::env::consts::ARCH),
            Err(_) => format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        };
        HostInfo {
            os,
            python_version: String::new(),
            tool_version: format!("kite {}", env!("CARGO_PKG_VERSION")),
            cpu_count,
            cpu_model,
            gpus: Vec::new(),
            longitude: None,
            latitude: None,
            ram_total_gb,
        }
    }
}

/// What [`append_row`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvAppend {
    /// The file did not exist (or was empty): it was created with the header and the row.
    Created,
    /// The row was appended to the existing file.
    Appended,
    /// The existing file had other columns: it was renamed to `backup`, untouched, and a new
    /// file was started.
    BackedUp {
        /// Where the old file now is.
        backup: PathBuf,
    },
}

/// Appends `record` as one row to the CSV at `path` (see the module docs for what happens to an
/// existing file).
pub fn append_row(
    path: &Path,
    record: &RunRecord,
    host: &HostInfo,
) -> Result<CsvAppend, TrackerError> {
    let err = |source: io::Error| TrackerError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let values = row_values(record, host);
    // Up to two attempts: if another process creates the file between our look and our create,
    // the second attempt appends to it.
    for _ in 0..2 {
        match read_header(path).map_err(err)? {
            Existing::Missing | Existing::Empty => {
                let mut file = match open_for_create(path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(err(e)),
                };
                let mut text = String::with_capacity(1024);
                text.push_str(HEADER);
                text.push('\n');
                push_row(&mut text, values.iter().map(String::as_str));
                file.write_all(text.as_bytes()).map_err(err)?;
                file.sync_data().map_err(err)?;
                return Ok(CsvAppend::Created);
            }
            Existing::Header(columns) => {
                let ours: Vec<&str> = HEADER.split(',').collect();
                let mut theirs: Vec<&str> = columns.iter().map(String::as_str).collect();
                let mut sorted_ours = ours.clone();
                sorted_ours.sort_unstable();
                theirs.sort_unstable();
                if theirs == sorted_ours {
                    // Same columns: write in the file's order.
                    let ordered = columns.iter().map(|c| {
                        ours.iter()
                            .position(|o| o == c)
                            .map_or("", |i| values[i].as_str())
                    });
                    let mut text = String::with_capacity(1024);
                    push_row(&mut text, ordered);
                    append_text(path, &text).map_err(err)?;
                    return Ok(CsvAppend::Appended);
                }
                let backup = back_up(path).map_err(err)?;
                tracing::warn!(
                    "{} has other columns than CodeCarbon 3.3's; it was kept as {} and a new file \
                     was started",
                    path.display(),
                    backup.display()
                );
                let mut file = open_for_create(path).map_err(err)?;
                let mut text = String::with_capacity(1024);
                text.push_str(HEADER);
                text.push('\n');
                push_row(&mut text, values.iter().map(String::as_str));
                file.write_all(text.as_bytes()).map_err(err)?;
                file.sync_data().map_err(err)?;
                return Ok(CsvAppend::BackedUp { backup });
            }
        }
    }
    Err(err(io::Error::other(
        "the file kept appearing and disappearing while kite wrote to it",
    )))
}

enum Existing {
    Missing,
    Empty,
    Header(Vec<String>),
}

fn read_header(path: &Path) -> io::Result<Existing> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Missing),
        Err(e) => return Err(e),
    };
    let mut line = String::new();
    BufReader::new(file).read_line(&mut line)?;
    let line = line.trim_end_matches(['\n', '\r']);
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    if line.is_empty() {
        return Ok(Existing::Empty);
    }
    Ok(Existing::Header(split_fields(line)))
}

fn open_for_create(path: &Path) -> io::Result<File> {
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(f) => Ok(f),
        // An existing empty file is treated as new (as CodeCarbon does): write into it.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && fs::metadata(path)?.len() == 0 => {
            OpenOptions::new().append(true).open(path)
        }
        Err(e) => Err(e),
    }
}

/// Appends `text`, first ending the last line if the file does not end with a newline. One
/// `write` call, in append mode, so concurrent appenders do not interleave within a row.
fn append_text(path: &Path, text: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().read(true).append(true).open(path)?;
    let len = file.metadata()?.len();
    let mut out = String::with_capacity(text.len() + 1);
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            out.push('\n');
        }
    }
    out.push_str(text);
    file.write_all(out.as_bytes())?;
    file.sync_data()
}

/// Renames `path` to `path.bak`, or `path_N.bak` for the first free N, never replacing a file.
/// A hard link is made first (which fails if the target exists) and the original removed, so
/// two processes can never pick the same name.
fn back_up(path: &Path) -> io::Result<PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "emissions.csv".into());
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    for idx in 0..10_000u32 {
        let candidate = if idx == 0 {
            dir.join(format!("{name}.bak"))
        } else {
            dir.join(format!("{name}_{}.bak", idx - 1))
        };
        match fs::hard_link(path, &candidate) {
            Ok(()) => {
                fs::remove_file(path)?;
                return Ok(candidate);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            // No hard links on this file system: rename, having checked the name is free.
            Err(_) if !candidate.exists() => {
                fs::rename(path, &candidate)?;
                return Ok(candidate);
            }
            Err(_) => continue,
        }
    }
    Err(io::Error::other("no free backup name (tried 10000)"))
}

/// Splits one CSV line into fields (RFC 4180 quoting).
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

fn push_field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn push_row<'a>(out: &mut String, values: impl Iterator<Item = &'a str>) {
    for (i, v) in values.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, v);
    }
    out.push('\n');
}

/// A float as pandas writes one: whole numbers keep a `.0` (`25.0`), so a column keeps its
/// float type when kite's rows and CodeCarbon's share a file.
fn num(x: f64) -> String {
    if !x.is_finite() {
        String::new()
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.1}")
    } else {
        x.to_string()
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(num).unwrap_or_default()
}

/// `2 x NVIDIA A100, 1 x NVIDIA T4`: CodeCarbon's `gpu_model` form.
fn gpu_model(gpus: &[String]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for g in gpus {
        match counts.iter_mut().find(|(name, _)| *name == g.as_str()) {
            Some((_, n)) => *n += 1,
            None => counts.push((g.as_str(), 1)),
        }
    }
    counts
        .iter()
        .map(|(name, n)| format!("{n} x {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The 38 values, in [`HEADER`]'s order.
fn row_values(r: &RunRecord, host: &HostInfo) -> Vec<String> {
    let pue = r.pue.value;
    let secs = r.duration_secs;
    let energy = |c: Component| r.component_energy(c).0 * pue;
    let power = |c: Component| {
        if secs > 0.0 {
            energy(c) * 3_600_000.0 / secs
        } else {
            0.0
        }
    };
    let emissions_kg = r.operational.0 / 1000.0;
    let (cloud_provider, cloud_region) = r.cloud.clone().unwrap_or_default();
    let ram_utilisation = match (r.activity.ram_used_gb, r.activity.ram_total_gb) {
        (Some(used), Some(total)) if total > 0.0 => Some(used / total * 100.0),
        _ => None,
    };
    let timestamp = r.ended_at.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    vec![
        timestamp,
        r.project.clone(),
        r.run_id.clone(),
        r.experiment.clone().unwrap_or_default(),
        num(secs),
        num(emissions_kg),
        num(if secs > 0.0 { emissions_kg / secs } else { 0.0 }),
        num(power(Component::Cpu)),
        num(power(Component::Gpu)),
        num(power(Component::Ram)),
        num(energy(Component::Cpu)),
        num(energy(Component::Gpu)),
        num(energy(Component::Ram)),
        num(r.facility_energy.0),
        num(r.water.litres),
        r.country_name.clone().unwrap_or_default(),
        r.country_iso3.clone().unwrap_or_default(),
        r.zone.as_str().to_string(),
        cloud_provider,
        cloud_region,
        host.os.clone(),
        host.python_version.clone(),
        host.tool_version.clone(),
        host.cpu_count.to_string(),
        host.cpu_model.clone(),
        host.gpus.len().to_string(),
        gpu_model(&host.gpus),
        opt(host.longitude),
        opt(host.latitude),
        num(r.activity.ram_total_gb.unwrap_or(host.ram_total_gb)),
        r.tracking.as_str().to_string(),
        opt(r.activity.cpu_utilisation.map(|u| u * 100.0)),
        String::new(),
        opt(ram_utilisation),
        opt(r.activity.ram_used_gb),
        if r.cloud.is_some() { "Y" } else { "N" }.to_string(),
        num(pue),
        num(r.water.wue_onsite.value),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_has_codecarbons_38_columns() {
        assert_eq!(HEADER.split(',').count(), 38);
    }

    #[test]
    fn fields_are_quoted_only_when_needed_and_split_back() {
        let mut out = String::new();
        push_row(&mut out, ["a", "b,c", "say \"hi\"", ""].into_iter());
        assert_eq!(out, "a,\"b,c\",\"say \"\"hi\"\"\",\n");
        assert_eq!(split_fields(out.trim_end()), ["a", "b,c", "say \"hi\"", ""]);
        assert_eq!(
            gpu_model(&["A".into(), "B".into(), "A".into()]),
            "2 x A, 1 x B"
        );
        assert_eq!(num(25.0), "25.0");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(f64::NAN), "");
    }
}
