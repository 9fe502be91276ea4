//! Rendering a measured run: the live status line, the human summary (stderr, since stdout
//! belongs to the command), and the JSON record (`kite run --json`, documented on [`JsonRun`]).

use kite_tracker::{EnergyMethod, RunRecord, Snapshot};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// One line for the terminal while the command runs.
pub fn status_line(s: &Snapshot) -> String {
    let secs = s.elapsed_secs as u64;
    let mut line = format!(
        "kite ⏱ {:02}:{:02}:{:02} · {:.1} W · {:.3} Wh · {:.3} gCO2e",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        s.power.0,
        s.energy_wh(),
        s.emissions.0
    );
    if let Some(i) = s.intensity {
        let _ = write!(line, " @ {:.0} g/kWh", i.0);
    }
    if let (Some(total), Some(p)) = (s.total_phases, &s.prediction) {
        let _ = write!(
            line,
            " · phase {}/{} → ~{:.1} gCO2e total",
            s.completed_phases, total, p.emissions.0
        );
    }
    line
}

/// kite's own cost, from `getrusage(RUSAGE_SELF)` (the measured command is not included).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Overhead {
    /// User + system CPU seconds kite itself used.
    pub cpu_seconds: f64,
    /// kite's own peak resident memory, KiB.
    pub peak_rss_kib: i64,
}

impl Overhead {
    /// For records read back from the store: kite's cost then is unknown.
    pub fn none() -> Overhead {
        Overhead {
            cpu_seconds: f64::NAN,
            peak_rss_kib: -1,
        }
    }

    pub fn of_this_process() -> Overhead {
        use nix::sys::resource::{UsageWho, getrusage};
        match getrusage(UsageWho::RUSAGE_SELF) {
            Ok(u) => {
                let secs =
                    |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
                Overhead {
                    cpu_seconds: secs(u.user_time()) + secs(u.system_time()),
                    peak_rss_kib: u.max_rss(),
                }
            }
            Err(_) => Overhead {
                cpu_seconds: f64::NAN,
                peak_rss_kib: -1,
            },
        }
    }
}

fn method_text(m: &EnergyMethod) -> String {
    match m {
        EnergyMethod::Measured { sensor, detail } => format!("measured by {sensor}: {detail}"),
        EnergyMethod::Modelled { model } => format!("modelled: {model}"),
    }
}

/// The command on one line, at most 60 characters.
pub fn short_command(argv: &[String]) -> String {
    let flat = argv
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if flat.chars().count() > 60 {
        flat.chars().take(59).collect::<String>() + "…"
    } else {
        flat
    }
}

/// The end-of-run summary for people.
pub fn summary(
    r: &RunRecord,
    meter_notes: &[String],
    intensity_notes: &[kite_engine::Note],
    csv: Option<(&Path, Option<String>)>,
    db: &Path,
) -> String {
    let mut o = String::new();
    let cmd = short_command(&r.command);
    let ending = match (r.status.as_str(), r.exit_code, &r.reason) {
        (_, Some(code), _) => format!("exited {code}"),
        (_, None, Some(reason)) => reason.clone(),
        (status, None, None) => status.to_string(),
    };
    let _ = writeln!(
        o,
        "\nkite run: `{cmd}` {ending} after {:.1} s · run {} · zone {}",
        r.duration_secs, r.run_id, r.zone
    );
    let _ = writeln!(
        o,
        "  energy     {:.4} Wh IT × PUE {:.3} = {:.4} Wh ({:.0} % measured by a sensor)",
        r.energy.0 * 1000.0,
        r.pue.value,
        r.facility_energy.0 * 1000.0,
        r.measured_fraction * 100.0
    );
    for d in &r.devices {
        let _ = writeln!(
            o,
            "    {:4} {:.4} Wh  {} [{}]",
            d.component.as_str(),
            d.energy.0 * 1000.0,
            d.device,
            method_text(&d.method)
        );
    }
    let _ = writeln!(o, "    PUE {} ({})", r.pue.value, r.pue.source);
    let _ = writeln!(
        o,
        "  carbon     {:.4} gCO2e operational + {:.4} gCO2e embodied = {:.4} gCO2e",
        r.operational.0,
        r.embodied.emissions.0,
        r.total_emissions().0
    );
    if let Some(eff) = r.intensity.effective {
        let _ = writeln!(
            o,
            "    intensity {:.1} gCO2e/kWh (energy-weighted over the run)",
            eff.0
        );
    }
    for seg in &r.intensity.segments {
        let age = seg
            .age_secs
            .map(|a| format!(", {} old", crate::render::human_age(a)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "    {:.0} s at {} · {} · {} · {}{age}",
            seg.seconds,
            seg.mean_intensity
                .map(|i| format!("{:.1} g/kWh", i.0))
                .unwrap_or_else(|| "?".into()),
            seg.meta.signal,
            seg.meta.provenance,
            seg.meta.source
        );
    }
    let e = &r.embodied;
    let _ = writeln!(
        o,
        "    embodied: {} × {:.1} s / {:.0} h life × share {:.3} ({}) [{}; {}]",
        format_args!("{:.0} kg", e.total_kg.value),
        e.reserved_secs,
        e.lifetime_hours.value,
        e.share,
        e.rule.to_text(),
        e.hardware,
        e.total_kg.source
    );
    let w = &r.water;
    let _ = writeln!(
        o,
        "  water      {:.5} L (on-site {:.5} L at {} L/kWh: {}; off-site {:.5} L at {} L/kWh: {})",
        w.litres,
        w.onsite_litres,
        w.wue_onsite.value,
        w.wue_onsite.source,
        w.offsite_litres,
        w.water_offsite.value,
        w.water_offsite.source
    );
    for p in &r.predictions {
        let _ = writeln!(
            o,
            "  prediction after {} phase(s): {:.4} Wh, {:.4} gCO2e (error {})",
            p.after_phases,
            p.energy.0 * 1000.0,
            p.emissions.0,
            p.emissions_error_pct
                .map(|e| format!("{e:+.1} %"))
                .unwrap_or_else(|| "n/a".into())
        );
    }
    match csv {
        Some((path, None)) => {
            let _ = writeln!(
                o,
                "  records    {} (row appended), run stored in {}",
                path.display(),
                db.display()
            );
        }
        Some((_, Some(e))) => {
            let _ = writeln!(
                o,
                "  records    run stored in {}; emissions.csv NOT written: {e}",
                db.display()
            );
        }
        None => {
            let _ = writeln!(o, "  records    stored in {}", db.display());
        }
    }
    for n in meter_notes {
        let _ = writeln!(o, "  note: meters: {n}");
    }
    for n in intensity_notes {
        let _ = writeln!(o, "  note: {}: {}", n.source, n.message);
    }
    for d in &r.diagnostics {
        let times = if d.count > 1 {
            format!(" (×{})", d.count)
        } else {
            String::new()
        };
        let _ = writeln!(o, "  note: {}{times}", d.message);
    }
    o
}

/// `kite run --json`: the run record. Energy in kWh, emissions in grams, water in litres.
#[derive(Serialize)]
pub struct JsonRun {
    run_id: String,
    project: String,
    experiment: Option<String>,
    command: Vec<String>,
    /// `succeeded`, `failed`, `interrupted`.
    status: String,
    exit_code: Option<i32>,
    reason: Option<String>,
    zone: String,
    cloud: Option<(String, String)>,
    started_at: String,
    ended_at: String,
    duration_seconds: f64,
    /// IT energy (before PUE), kWh.
    energy_kwh: f64,
    /// Share of the energy that a sensor measured (the rest was modelled).
    measured_fraction: f64,
    pue: JsonFactor,
    facility_energy_kwh: f64,
    operational_gco2e: f64,
    embodied_gco2e: f64,
    total_gco2e: f64,
    water_litres: f64,
    devices: Vec<JsonDevice>,
    /// Energy-weighted intensity over the run.
    intensity_gco2_per_kwh: Option<f64>,
    intensity_segments: Vec<JsonSegment>,
    embodied: JsonEmbodied,
    water: JsonWater,
    phases: Vec<JsonPhase>,
    predictions: Vec<JsonPrediction>,
    samples: u64,
    diagnostics: Vec<String>,
    /// kite's own cost while measuring.
    overhead: Overhead,
}

#[derive(Serialize)]
struct JsonFactor {
    value: f64,
    source: String,
}

#[derive(Serialize)]
struct JsonDevice {
    component: &'static str,
    device: String,
    /// `measured` or `modelled`.
    method: &'static str,
    method_detail: String,
    device_energy_kwh: f64,
    attributed_energy_kwh: f64,
    energy_kwh: f64,
}

#[derive(Serialize)]
struct JsonSegment {
    seconds: f64,
    energy_kwh: f64,
    gco2e: f64,
    gco2_per_kwh: Option<f64>,
    signal: &'static str,
    provenance: String,
    source: String,
    age_seconds: Option<i64>,
}

#[derive(Serialize)]
struct JsonEmbodied {
    gco2e: f64,
    hardware: String,
    total_kg: JsonFactor,
    lifetime_hours: JsonFactor,
    reserved_seconds: f64,
    share: f64,
    share_rule: String,
}

#[derive(Serialize)]
struct JsonWater {
    litres: f64,
    onsite_litres: f64,
    offsite_litres: f64,
    wue_onsite: JsonFactor,
    water_offsite: JsonFactor,
}

#[derive(Serialize)]
struct JsonPhase {
    name: String,
    start: String,
    end: Option<String>,
    duration_seconds: f64,
    energy_kwh: f64,
    gco2e: f64,
}

#[derive(Serialize)]
struct JsonPrediction {
    after_phases: u32,
    energy_kwh: f64,
    gco2e: f64,
    duration_seconds: f64,
    energy_error_pct: Option<f64>,
    emissions_error_pct: Option<f64>,
}

fn factor(f: &kite_tracker::Factor) -> JsonFactor {
    JsonFactor {
        value: f.value,
        source: f.source.clone(),
    }
}

pub fn record_json(r: &RunRecord, overhead: &Overhead) -> anyhow::Result<String> {
    let json = JsonRun {
        run_id: r.run_id.clone(),
        project: r.project.clone(),
        experiment: r.experiment.clone(),
        command: r.command.clone(),
        status: r.status.as_str().to_string(),
        exit_code: r.exit_code,
        reason: r.reason.clone(),
        zone: r.zone.to_string(),
        cloud: r.cloud.clone(),
        started_at: r.started_at.to_string(),
        ended_at: r.ended_at.to_string(),
        duration_seconds: r.duration_secs,
        energy_kwh: r.energy.0,
        measured_fraction: r.measured_fraction,
        pue: factor(&r.pue),
        facility_energy_kwh: r.facility_energy.0,
        operational_gco2e: r.operational.0,
        embodied_gco2e: r.embodied.emissions.0,
        total_gco2e: r.total_emissions().0,
        water_litres: r.water.litres,
        devices: r
            .devices
            .iter()
            .map(|d| JsonDevice {
                component: d.component.as_str(),
                device: d.device.clone(),
                method: d.method.label(),
                method_detail: method_text(&d.method),
                device_energy_kwh: d.device_energy.0,
                attributed_energy_kwh: d.attributed_energy.0,
                energy_kwh: d.energy.0,
            })
            .collect(),
        intensity_gco2_per_kwh: r.intensity.effective.map(|i| i.0),
        intensity_segments: r
            .intensity
            .segments
            .iter()
            .map(|s| JsonSegment {
                seconds: s.seconds,
                energy_kwh: s.energy.0,
                gco2e: s.emissions.0,
                gco2_per_kwh: s.mean_intensity.map(|i| i.0),
                signal: s.meta.signal.as_str(),
                provenance: s.meta.provenance.to_string(),
                source: s.meta.source.clone(),
                age_seconds: s.age_secs,
            })
            .collect(),
        embodied: JsonEmbodied {
            gco2e: r.embodied.emissions.0,
            hardware: r.embodied.hardware.clone(),
            total_kg: factor(&r.embodied.total_kg),
            lifetime_hours: factor(&r.embodied.lifetime_hours),
            reserved_seconds: r.embodied.reserved_secs,
            share: r.embodied.share,
            share_rule: r.embodied.rule.to_text(),
        },
        water: JsonWater {
            litres: r.water.litres,
            onsite_litres: r.water.onsite_litres,
            offsite_litres: r.water.offsite_litres,
            wue_onsite: factor(&r.water.wue_onsite),
            water_offsite: factor(&r.water.water_offsite),
        },
        phases: r
            .phases
            .iter()
            .map(|p| JsonPhase {
                name: p.name.clone(),
                start: p.start.to_string(),
                end: p.end.map(|t| t.to_string()),
                duration_seconds: p.duration_secs,
                energy_kwh: p.energy.0,
                gco2e: p.emissions.0,
            })
            .collect(),
        predictions: r
            .predictions
            .iter()
            .map(|p| JsonPrediction {
                after_phases: p.after_phases,
                energy_kwh: p.energy.0,
                gco2e: p.emissions.0,
                duration_seconds: p.duration_secs,
                energy_error_pct: p.energy_error_pct,
                emissions_error_pct: p.emissions_error_pct,
            })
            .collect(),
        samples: r.samples,
        diagnostics: r.diagnostics.iter().map(|d| d.message.clone()).collect(),
        overhead: *overhead,
    };
    Ok(serde_json::to_string_pretty(&json)? + "\n")
}
