//! The typed records a ledger holds, version 1.
//!
//! Each record is one JSON object with `"kind"` (`run`, `job_outcome`, `hardware`, `contract`,
//! `onsite`, `grid_cfe`, `functional_units`) and `"v": 1`, the other fields as documented on the
//! structs below (and in `docs/accounting.md`). Times are RFC 3339 UTC strings, energy kWh (or
//! MWh where the field says so), emissions grams CO2e (or kg / tonnes where the field says so).
//! Unknown fields are refused, so a misspelt field is an error rather than a silently missing
//! number. [`Record::from_value`] checks types and then meaning (ranges, order of times, sums),
//! and every error names the record kind, the field, the value and the fix.

use crate::statement::Stage;
use jiff::Timestamp;
use kite_store::StoredRun;
use kite_tracker::{EnergyMethod, RunRecord, TrackingMode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Version of the record encoding this crate writes and reads.
pub const RECORD_VERSION: u64 = 1;

/// Seconds in an hour.
const HOUR: i64 = 3600;

/// A record that could not be read: the kind, the field, the value, what is wrong and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind} record: field `{field}` = {value}: {problem}; {fix}")]
pub struct RecordError {
    /// The record kind (`run`, `contract`, ...) or `record` when unknown.
    pub kind: String,
    /// Path of the field, e.g. `hours[3].kwh`.
    pub field: String,
    /// The value found (JSON), or `(missing)`.
    pub value: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

/// Any ledger record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A measured run's footprint.
    Run(RunFootprint),
    /// A scheduled job's outcome against running at once.
    JobOutcome(JobOutcome),
    /// A hardware inventory item.
    Hardware(HardwareItem),
    /// An energy contract, certificate or offset.
    Contract(Contract),
    /// On-site combustion (scope 1).
    Onsite(OnsiteEntry),
    /// A grid's hourly clean-energy share.
    GridCfe(GridCfe),
    /// A count of functional units (SCI `R`).
    FunctionalUnits(FunctionalUnits),
}

/// How one hour of a run was accounted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HourUse {
    /// Start of the hour (on the hour, UTC).
    pub hour: Timestamp,
    /// Seconds of the run inside the hour, `(0, 3600]`.
    pub seconds: f64,
    /// Facility energy (IT × PUE) in the hour, kWh.
    pub kwh: f64,
    /// Operational emissions in the hour, grams: `kwh × intensity`.
    pub g: f64,
    /// The grid intensity applied, g/kWh; `None` when none was known (then `g` is 0 for it).
    pub intensity: Option<f64>,
    /// The signal, e.g. `average-lifecycle`.
    pub signal: String,
    /// The data source, e.g. `electricity_maps`.
    pub source: String,
    /// `measured`, `forecast` or `estimated (...)`.
    pub provenance: String,
}

/// A hardware item a run used, and the share of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareUse {
    /// Inventory id ([`HardwareItem::id`]).
    pub id: String,
    /// Share of the item reserved (SCI `RR / ToR`), `(0, 1]`; default 1.
    #[serde(default = "one")]
    pub share: f64,
}

fn one() -> f64 {
    1.0
}

/// The footprint of one run (`kind = "run"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunFootprint {
    /// Run id (kite's UUID).
    pub run_id: String,
    /// Project.
    pub project: String,
    /// Team, if any.
    #[serde(default)]
    pub team: Option<String>,
    /// `training`, `inference` or `other`.
    #[serde(default = "other_stage")]
    pub stage: Stage,
    /// Grid zone.
    pub zone: String,
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
    /// IT energy, kWh.
    pub it_kwh: f64,
    /// PUE applied.
    pub pue: f64,
    /// Facility energy (IT × PUE), kWh.
    pub facility_kwh: f64,
    /// Per hour, in order; Σ `kwh` = `facility_kwh`, Σ `g` = `operational_g`.
    pub hours: Vec<HourUse>,
    /// Operational emissions, location-based, grams.
    pub operational_g: f64,
    /// Embodied emissions (SCI `M`) as the tracker computed them, grams.
    pub embodied_g: f64,
    /// How `embodied_g` was computed.
    #[serde(default)]
    pub embodied_source: Option<String>,
    /// Operational water, litres.
    pub water_litres: f64,
    /// Share of IT energy read from sensors, `[0, 1]`.
    pub measured_fraction: f64,
    /// Inventory items used, if known; then embodied comes from the inventory.
    #[serde(default)]
    pub hardware: Vec<HardwareUse>,
}

fn other_stage() -> Stage {
    Stage::Other
}

/// A scheduled job's outcome (`kind = "job_outcome"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobOutcome {
    /// Job id.
    pub job_id: String,
    /// Project.
    pub project: String,
    /// Team.
    #[serde(default)]
    pub team: Option<String>,
    /// Zone it ran in.
    pub region: String,
    /// When it was planned to start.
    pub planned_start: Timestamp,
    /// When it started.
    pub actual_start: Timestamp,
    /// Emissions as run, grams.
    pub emissions_g: f64,
    /// Emissions had it started at once in its first region, grams.
    pub run_now_g: f64,
    /// The run that measured it, if any.
    #[serde(default)]
    pub run_id: Option<String>,
}

/// A hardware inventory item (`kind = "hardware"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareItem {
    /// Inventory id.
    pub id: String,
    /// What it is: `server`, `gpu`, `storage`, ...
    pub category: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Total embodied emissions (SCI `TE`), kgCO2e.
    pub embodied_kg: f64,
    /// Expected lifetime (SCI `EL`), hours.
    pub lifetime_hours: f64,
    /// In service from.
    pub in_service: Timestamp,
    /// Retired at, if it is.
    #[serde(default)]
    pub retired: Option<Timestamp>,
    /// Source of the embodied factor.
    pub source: String,
}

/// A contractual instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Instrument {
    /// Power purchase agreement (physical or virtual), with its certificates.
    Ppa,
    /// Renewable energy certificate (North America).
    Rec,
    /// Guarantee of origin (EU).
    Go,
    /// Another energy attribute certificate (I-REC, T-EAC...).
    Certificate,
    /// Carbon offset: never a scope 2 instrument, never reduces any total.
    Offset,
}

impl Instrument {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Instrument::Ppa => "ppa",
            Instrument::Rec => "rec",
            Instrument::Go => "go",
            Instrument::Certificate => "certificate",
            Instrument::Offset => "offset",
        }
    }
}

/// Contracted energy in one hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileHour {
    /// Start of the hour.
    pub hour: Timestamp,
    /// Energy delivered, MWh.
    pub mwh: f64,
}

/// An energy contract, certificate or offset (`kind = "contract"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// Contract id.
    pub id: String,
    /// `ppa`, `rec`, `go`, `certificate` or `offset`.
    pub instrument: Instrument,
    /// The market it is valid in: a grid zone (`DE`) or a market area; ignored for offsets.
    pub market: String,
    /// Grid zones inside the market area, if `market` is not a zone itself.
    #[serde(default)]
    pub market_zones: Vec<String>,
    /// Start of the generation (vintage) period.
    pub start: Timestamp,
    /// End of the generation period.
    pub end: Timestamp,
    /// Energy, MWh (not for offsets).
    #[serde(default)]
    pub mwh: Option<f64>,
    /// Offsets: tonnes CO2e retired.
    #[serde(default)]
    pub tonnes_co2e: Option<f64>,
    /// `wind`, `solar`, `hydro`, `geothermal`, `nuclear`, `biomass`, `gas`, ...
    pub technology: String,
    /// Hourly delivery, if known (Σ = `mwh`); without it, delivery is taken as flat.
    #[serde(default)]
    pub hourly: Vec<ProfileHour>,
    /// Emission factor the instrument conveys, g/kWh; default 0 for carbon-free technologies,
    /// required otherwise.
    #[serde(default)]
    pub emission_factor_g_per_kwh: Option<f64>,
    /// Whether the certificates were retired / cancelled for the reporting entity.
    #[serde(default)]
    pub retired: Option<bool>,
    /// Only for this project, if set; else the organisation's.
    #[serde(default)]
    pub project: Option<String>,
    /// Only for this team, if set.
    #[serde(default)]
    pub team: Option<String>,
    /// The reporting period the organisation applies it to (`2026`), when that differs from
    /// its generation period; checked against the vintage.
    #[serde(default)]
    pub applied_to: Option<String>,
}

/// On-site combustion (`kind = "onsite"`, scope 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnsiteEntry {
    /// Entry id.
    pub id: String,
    /// What burned, e.g. `diesel backup generator test`.
    pub description: String,
    /// Fuel.
    pub fuel: String,
    /// Quantity burned over `[start, end)`.
    pub quantity: f64,
    /// Its unit (`litre`, `kg`, `kWh`).
    pub unit: String,
    /// Start of the period the quantity covers.
    pub start: Timestamp,
    /// End of it.
    pub end: Timestamp,
    /// Emissions, kgCO2e, if known directly.
    #[serde(default)]
    pub kg_co2e: Option<f64>,
    /// Otherwise a factor, kgCO2e per unit.
    #[serde(default)]
    pub factor_kg_per_unit: Option<f64>,
    /// Source of the emissions or factor.
    pub source: String,
    /// Project, if attributable.
    #[serde(default)]
    pub project: Option<String>,
    /// Team, if attributable.
    #[serde(default)]
    pub team: Option<String>,
}

impl OnsiteEntry {
    /// Emissions over the whole entry, grams.
    pub fn grams(&self) -> f64 {
        match (self.kg_co2e, self.factor_kg_per_unit) {
            (Some(kg), _) => kg * 1000.0,
            (None, Some(f)) => self.quantity * f * 1000.0,
            (None, None) => 0.0,
        }
    }
}

/// A grid's clean share in one hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CfeHour {
    /// Start of the hour.
    pub hour: Timestamp,
    /// Carbon-free share of the grid's supply, `[0, 1]`.
    pub share: f64,
}

/// A grid's hourly carbon-free share (`kind = "grid_cfe"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridCfe {
    /// Grid zone.
    pub zone: String,
    /// Where the shares come from (e.g. `Electricity Maps carbon-free percentage`).
    pub source: String,
    /// Per hour.
    pub hours: Vec<CfeHour>,
}

/// A count of functional units (`kind = "functional_units"`, SCI `R`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionalUnits {
    /// Project.
    pub project: String,
    /// Start of the period counted.
    pub start: Timestamp,
    /// End of it.
    pub end: Timestamp,
    /// Unit name, e.g. `1k inferences`, `token`, `training run`.
    pub unit: String,
    /// How many.
    pub count: f64,
}

/// Carbon-free technologies (for the CFE score and the default emission factor of 0).
pub fn is_carbon_free(technology: &str) -> bool {
    matches!(
        technology.to_ascii_lowercase().as_str(),
        "wind" | "solar" | "hydro" | "geothermal" | "nuclear" | "tidal" | "wave"
    )
}

/// Renewable technologies (for renewable-percentage claims; nuclear is carbon-free, not
/// renewable).
pub fn is_renewable(technology: &str) -> bool {
    matches!(
        technology.to_ascii_lowercase().as_str(),
        "wind" | "solar" | "hydro" | "geothermal" | "tidal" | "wave" | "biomass"
    )
}

impl Record {
    /// The `kind` string.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Run(_) => "run",
            Record::JobOutcome(_) => "job_outcome",
            Record::Hardware(_) => "hardware",
            Record::Contract(_) => "contract",
            Record::Onsite(_) => "onsite",
            Record::GridCfe(_) => "grid_cfe",
            Record::FunctionalUnits(_) => "functional_units",
        }
    }

    /// The record as a JSON object with `kind` and `v`.
    pub fn to_value(&self) -> Value {
        let body = match self {
            Record::Run(r) => serde_json::to_value(r),
            Record::JobOutcome(r) => serde_json::to_value(r),
            Record::Hardware(r) => serde_json::to_value(r),
            Record::Contract(r) => serde_json::to_value(r),
            Record::Onsite(r) => serde_json::to_value(r),
            Record::GridCfe(r) => serde_json::to_value(r),
            Record::FunctionalUnits(r) => serde_json::to_value(r),
        };
        // Serialising plain structs of strings, numbers and timestamps cannot fail; an empty
        // object would be refused on reading, never misread.
        let mut map = match body {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        map.insert("kind".into(), Value::String(self.kind().into()));
        map.insert("v".into(), Value::from(RECORD_VERSION));
        Value::Object(map)
    }

    /// Reads and checks a record.
    pub fn from_value(value: &Value) -> Result<Record, RecordError> {
        let Value::Object(map) = value else {
            return Err(err(
                "record",
                "",
                value,
                "a record must be a JSON object",
                "write {\"kind\": \"run\", \"v\": 1, ...}",
            ));
        };
        let kind = match map.get("kind") {
            Some(Value::String(k)) => k.as_str(),
            Some(other) => {
                return Err(err("record", "kind", other, "not a string", KINDS_FIX));
            }
            None => return Err(missing("record", "kind", KINDS_FIX)),
        };
        match map.get("v") {
            Some(v) if v.as_u64() == Some(RECORD_VERSION) => {}
            Some(v) => {
                return Err(err(
                    kind,
                    "v",
                    v,
                    "unsupported record version",
                    "this kite reads version 1; upgrade kite for newer records",
                ));
            }
            None => return Err(missing(kind, "v", "add \"v\": 1")),
        }
        let mut body = map.clone();
        body.remove("kind");
        body.remove("v");
        let body = Value::Object(body);
        let record = match kind {
            "run" => Record::Run(typed(kind, &body)?),
            "job_outcome" => Record::JobOutcome(typed(kind, &body)?),
            "hardware" => Record::Hardware(typed(kind, &body)?),
            "contract" => Record::Contract(typed(kind, &body)?),
            "onsite" => Record::Onsite(typed(kind, &body)?),
            "grid_cfe" => Record::GridCfe(typed(kind, &body)?),
            "functional_units" => Record::FunctionalUnits(typed(kind, &body)?),
            other => {
                return Err(err(
                    "record",
                    "kind",
                    &Value::String(other.into()),
                    "unknown record kind",
                    KINDS_FIX,
                ));
            }
        };
        record.validate(&body)?;
        Ok(record)
    }

    fn validate(&self, body: &Value) -> Result<(), RecordError> {
        let c = Check {
            kind: self.kind(),
            body,
        };
        match self {
            Record::Run(r) => validate_run(&c, r),
            Record::JobOutcome(j) => {
                c.non_negative("emissions_g", j.emissions_g)?;
                c.non_negative("run_now_g", j.run_now_g)
            }
            Record::Hardware(h) => {
                c.positive("embodied_kg", h.embodied_kg)?;
                c.positive("lifetime_hours", h.lifetime_hours)?;
                if let Some(r) = h.retired
                    && r <= h.in_service
                {
                    return Err(c.fail(
                        "retired",
                        "is not after `in_service`",
                        "give the retirement time after the in-service time, or drop it",
                    ));
                }
                Ok(())
            }
            Record::Contract(k) => validate_contract(&c, k),
            Record::Onsite(o) => {
                c.non_negative("quantity", o.quantity)?;
                c.order("start", o.start, "end", o.end)?;
                match (o.kg_co2e, o.factor_kg_per_unit) {
                    (Some(kg), None) => c.non_negative("kg_co2e", kg),
                    (None, Some(f)) => c.non_negative("factor_kg_per_unit", f),
                    (Some(_), Some(_)) => Err(c.fail(
                        "factor_kg_per_unit",
                        "given together with `kg_co2e`",
                        "give either the emissions (`kg_co2e`) or a factor per unit, not both",
                    )),
                    (None, None) => Err(missing(
                        "onsite",
                        "kg_co2e",
                        "give `kg_co2e`, or `factor_kg_per_unit` (e.g. 2.66 kg/litre of diesel, \
                         DEFRA 2024) with its `source`",
                    )),
                }
            }
            Record::GridCfe(g) => {
                for (i, h) in g.hours.iter().enumerate() {
                    let f = format!("hours[{i}].share");
                    if !(h.share.is_finite() && (0.0..=1.0).contains(&h.share)) {
                        return Err(c.fail(
                            &f,
                            "is not a share in [0, 1]",
                            "give the carbon-free fraction, e.g. 0.45 for 45 %",
                        ));
                    }
                    c.on_the_hour(&format!("hours[{i}].hour"), h.hour)?;
                }
                Ok(())
            }
            Record::FunctionalUnits(f) => {
                c.order("start", f.start, "end", f.end)?;
                c.positive("count", f.count)
            }
        }
    }
}

const KINDS_FIX: &str = "use one of run, job_outcome, hardware, contract, onsite, grid_cfe, \
                         functional_units";

fn validate_run(c: &Check<'_>, r: &RunFootprint) -> Result<(), RecordError> {
    c.order("start", r.start, "end", r.end)?;
    if r.stage == Stage::Manufacturing {
        return Err(c.fail(
            "stage",
            "a run cannot be manufacturing",
            "use training, inference or other (manufacturing is the embodied emissions)",
        ));
    }
    for (f, v) in [
        ("it_kwh", r.it_kwh),
        ("facility_kwh", r.facility_kwh),
        ("operational_g", r.operational_g),
        ("embodied_g", r.embodied_g),
        ("water_litres", r.water_litres),
    ] {
        c.non_negative(f, v)?;
    }
    if !(r.pue.is_finite() && r.pue >= 1.0) {
        return Err(c.fail(
            "pue",
            "PUE is at least 1",
            "give the facility's PUE (1.0 when nothing is known)",
        ));
    }
    if !(0.0..=1.0).contains(&r.measured_fraction) {
        return Err(c.fail(
            "measured_fraction",
            "is not in [0, 1]",
            "give the share of IT energy read from sensors",
        ));
    }
    for (i, h) in r.hardware.iter().enumerate() {
        if !(h.share.is_finite() && h.share > 0.0 && h.share <= 1.0) {
            return Err(c.fail(
                &format!("hardware[{i}].share"),
                "is not in (0, 1]",
                "give the reserved share of the item, 1 for the whole item",
            ));
        }
    }
    if r.facility_kwh > 0.0 && r.hours.is_empty() {
        return Err(c.fail(
            "hours",
            "a run with energy needs its hourly breakdown",
            "record the run with kite run, or give one entry per hour it touched",
        ));
    }
    let first_hour = floor_hour(r.start);
    let mut prev: Option<Timestamp> = None;
    let (mut kwh, mut g) = (0.0, 0.0);
    for (i, h) in r.hours.iter().enumerate() {
        let f = |x: &str| format!("hours[{i}].{x}");
        c.on_the_hour(&f("hour"), h.hour)?;
        if h.hour < first_hour || h.hour >= r.end {
            return Err(c.fail(
                &f("hour"),
                "is outside the run",
                "give only hours between the run's start and end",
            ));
        }
        if prev.is_some_and(|p| h.hour <= p) {
            return Err(c.fail(
                &f("hour"),
                "hours are not strictly increasing",
                "sort the hours and merge duplicates",
            ));
        }
        prev = Some(h.hour);
        if !(h.seconds.is_finite() && h.seconds > 0.0 && h.seconds <= 3600.0) {
            return Err(c.fail(
                &f("seconds"),
                "is not in (0, 3600]",
                "give the seconds of the run inside the hour",
            ));
        }
        c.non_negative(&f("kwh"), h.kwh)?;
        c.non_negative(&f("g"), h.g)?;
        if let Some(x) = h.intensity {
            c.non_negative(&f("intensity"), x)?;
        }
        kwh += h.kwh;
        g += h.g;
    }
    if !r.hours.is_empty() {
        if !close(kwh, r.facility_kwh) {
            return Err(c.fail(
                "facility_kwh",
                &format!("differs from the sum of hours[].kwh ({kwh})"),
                "make the hourly energy add up to the run's facility energy",
            ));
        }
        if !close(g, r.operational_g) {
            return Err(c.fail(
                "operational_g",
                &format!("differs from the sum of hours[].g ({g})"),
                "make the hourly emissions add up to the run's operational emissions",
            ));
        }
    }
    Ok(())
}

fn validate_contract(c: &Check<'_>, k: &Contract) -> Result<(), RecordError> {
    c.order("start", k.start, "end", k.end)?;
    if k.instrument == Instrument::Offset {
        return match k.tonnes_co2e {
            Some(t) => c.positive("tonnes_co2e", t),
            None => Err(missing(
                "contract",
                "tonnes_co2e",
                "an offset needs the tonnes CO2e retired",
            )),
        };
    }
    if let Some(a) = &k.applied_to
        && let Err(e) = crate::statement::Period::parse(a)
    {
        return Err(c.fail(
            "applied_to",
            &e.problem,
            "write the reporting period, e.g. 2026 or 2026-10",
        ));
    }
    let Some(mwh) = k.mwh else {
        return Err(missing(
            "contract",
            "mwh",
            "give the energy the instrument covers, MWh",
        ));
    };
    c.positive("mwh", mwh)?;
    match k.emission_factor_g_per_kwh {
        Some(f) => c.non_negative("emission_factor_g_per_kwh", f)?,
        None if !is_carbon_free(&k.technology) => {
            return Err(missing(
                "contract",
                "emission_factor_g_per_kwh",
                &format!(
                    "technology `{}` is not carbon-free: give the emission factor the \
                     instrument conveys, g/kWh",
                    k.technology
                ),
            ));
        }
        None => {}
    }
    let mut sum = 0.0;
    let mut prev: Option<Timestamp> = None;
    for (i, h) in k.hourly.iter().enumerate() {
        let f = format!("hourly[{i}].hour");
        c.on_the_hour(&f, h.hour)?;
        if h.hour < k.start || h.hour >= k.end {
            return Err(c.fail(
                &f,
                "is outside the contract period",
                "give only hours between `start` and `end`",
            ));
        }
        if prev.is_some_and(|p| h.hour <= p) {
            return Err(c.fail(&f, "hours are not strictly increasing", "sort the hours"));
        }
        prev = Some(h.hour);
        c.non_negative(&format!("hourly[{i}].mwh"), h.mwh)?;
        sum += h.mwh;
    }
    if !k.hourly.is_empty() && !close(sum, mwh) {
        return Err(c.fail(
            "mwh",
            &format!("differs from the sum of hourly[].mwh ({sum})"),
            "make the hourly profile add up to the contract's volume",
        ));
    }
    Ok(())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 + 1e-6 * a.abs().max(b.abs())
}

/// The start of the UTC hour holding `t`.
pub fn floor_hour(t: Timestamp) -> Timestamp {
    let s = t.as_second().div_euclid(HOUR) * HOUR;
    Timestamp::from_second(s).unwrap_or(t)
}

struct Check<'a> {
    kind: &'a str,
    body: &'a Value,
}

impl Check<'_> {
    fn fail(&self, field: &str, problem: &str, fix: &str) -> RecordError {
        let value = lookup(self.body, field).cloned().unwrap_or(Value::Null);
        err(self.kind, field, &value, problem, fix)
    }

    fn non_negative(&self, field: &str, v: f64) -> Result<(), RecordError> {
        if v.is_finite() && v >= 0.0 {
            Ok(())
        } else {
            Err(self.fail(
                field,
                "must be a finite number ≥ 0",
                "give a non-negative number",
            ))
        }
    }

    fn positive(&self, field: &str, v: f64) -> Result<(), RecordError> {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(self.fail(
                field,
                "must be a finite number > 0",
                "give a positive number",
            ))
        }
    }

    fn order(&self, a: &str, ta: Timestamp, b: &str, tb: Timestamp) -> Result<(), RecordError> {
        if ta < tb {
            Ok(())
        } else {
            Err(self.fail(
                b,
                &format!("is not after `{a}`"),
                &format!("give `{b}` later than `{a}`"),
            ))
        }
    }

    fn on_the_hour(&self, field: &str, t: Timestamp) -> Result<(), RecordError> {
        if t.as_second() % HOUR == 0 && t.subsec_nanosecond() == 0 {
            Ok(())
        } else {
            Err(self.fail(
                field,
                "is not the start of an hour",
                "give the hour's start, e.g. 2026-10-01T13:00:00Z",
            ))
        }
    }
}

/// The value at a path like `hours[3].kwh`.
fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = root;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, idx) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        if let Some(i) = idx {
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

fn err(kind: &str, field: &str, value: &Value, problem: &str, fix: &str) -> RecordError {
    RecordError {
        kind: kind.to_string(),
        field: field.to_string(),
        value: value.to_string(),
        problem: problem.to_string(),
        fix: fix.to_string(),
    }
}

fn missing(kind: &str, field: &str, fix: &str) -> RecordError {
    RecordError {
        kind: kind.to_string(),
        field: field.to_string(),
        value: "(missing)".to_string(),
        problem: "is required".to_string(),
        fix: fix.to_string(),
    }
}

/// Deserialises `body` into `T`, turning serde's error into a field-level one.
fn typed<T: DeserializeOwned>(kind: &str, body: &Value) -> Result<T, RecordError> {
    serde_path_to_error::deserialize(body).map_err(
        |e: serde_path_to_error::Error<serde_json::Error>| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let message = e.inner().to_string();
            if let Some(rest) = message.strip_prefix("missing field `") {
                let name = rest.split('`').next().unwrap_or(rest);
                let field = if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                return missing(
                    kind,
                    &field,
                    "add it (see docs/accounting.md for each record's fields)",
                );
            }
            if let Some(rest) = message.strip_prefix("unknown field `") {
                // The path already ends with the unknown key.
                let field = path.clone();
                let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
                let value = lookup(body, &field).cloned().unwrap_or(Value::Null);
                return err(
                    kind,
                    &field,
                    &value,
                    "unknown field",
                    &format!("remove it or correct its spelling (expected {expected})"),
                );
            }
            let value = lookup(body, &path).cloned().unwrap_or(Value::Null);
            err(
                kind,
                &path,
                &value,
                &message,
                "give a value of the expected type (times as RFC 3339, e.g. 2026-10-01T00:00:00Z)",
            )
        },
    )
}

impl RunFootprint {
    /// The footprint of a finished run from its record alone. The record keeps totals, not
    /// per-interval data, so the energy is spread evenly over the run's time and every hour gets
    /// the run's effective intensity; each hour says so in its `provenance`. Prefer
    /// [`RunFootprint::from_stored`] when the store is at hand. Stage is `other`, team none:
    /// the caller sets them.
    pub fn from_run_record(record: &RunRecord) -> RunFootprint {
        let facility = record.facility_energy.0;
        let g = record.operational.0;
        let start = record.started_at;
        let end = record.ended_at.max(start);
        let total_secs = (end.as_millisecond() - start.as_millisecond()) as f64 / 1000.0;
        let seg = record
            .intensity
            .segments
            .iter()
            .max_by(|a, b| a.seconds.total_cmp(&b.seconds));
        let (signal, source, provenance) = match seg {
            Some(s) => (
                s.meta.signal.to_string(),
                s.meta.source.clone(),
                format!(
                    "{} (run mean spread evenly; per-interval data not used)",
                    s.meta.provenance
                ),
            ),
            None => ("unknown".into(), "none".into(), "unknown".into()),
        };
        let intensity = record.intensity.effective.map(|x| x.0);
        let mut hours = Vec::new();
        for (hour, secs) in hour_slices(start, end) {
            let frac = if total_secs > 0.0 {
                secs / total_secs
            } else {
                1.0
            };
            hours.push(HourUse {
                hour,
                seconds: secs.max(f64::MIN_POSITIVE),
                kwh: facility * frac,
                g: g * frac,
                intensity,
                signal: signal.clone(),
                source: source.clone(),
                provenance: provenance.clone(),
            });
        }
        footprint_from(record, hours)
    }

    /// The footprint of a run with its exact hourly breakdown, from the intervals the store
    /// holds (`stored` must be the same run as `record`).
    pub fn from_stored(record: &RunRecord, stored: &StoredRun) -> RunFootprint {
        const JOULES_PER_KWH: f64 = 3_600_000.0;
        struct Acc {
            secs: f64,
            kwh: f64,
            g: f64,
            intensity_secs: f64,
            weighted: f64,
            by_signal: BTreeMap<Option<u32>, f64>,
        }
        let pue = record.pue.value;
        let mut per_hour: BTreeMap<i64, Acc> = BTreeMap::new();
        let mut r = 0;
        for iv in &stored.intervals {
            let from = r;
            while r < stored.readings.len() && stored.readings[r].seq == iv.seq {
                r += 1;
            }
            let joules: f64 = stored.readings[from..r]
                .iter()
                .map(|x| match record.tracking {
                    TrackingMode::Process => x.attributed_j,
                    TrackingMode::Machine => x.device_j,
                })
                .sum();
            let kwh = joules / JOULES_PER_KWH * pue;
            let start_ms = iv.start.as_millisecond();
            let end_ms = iv.end.as_millisecond().max(start_ms);
            let len = (end_ms - start_ms).max(1) as f64;
            // An interval crossing an hour boundary is split in proportion to time.
            let mut cursor = start_ms;
            loop {
                let hour_ms = cursor.div_euclid(HOUR * 1000) * HOUR * 1000;
                let piece_end = end_ms.min(hour_ms + HOUR * 1000);
                let frac = if end_ms > start_ms {
                    (piece_end - cursor) as f64 / len
                } else {
                    1.0
                };
                let secs = (piece_end - cursor) as f64 / 1000.0;
                let a = per_hour.entry(hour_ms / 1000).or_insert(Acc {
                    secs: 0.0,
                    kwh: 0.0,
                    g: 0.0,
                    intensity_secs: 0.0,
                    weighted: 0.0,
                    by_signal: BTreeMap::new(),
                });
                a.secs += secs;
                a.kwh += kwh * frac;
                if let Some(i) = iv.intensity {
                    a.g += kwh * frac * i;
                    a.weighted += i * secs;
                    a.intensity_secs += secs;
                }
                *a.by_signal.entry(iv.signal_idx).or_insert(0.0) += secs;
                if piece_end >= end_ms {
                    break;
                }
                cursor = piece_end;
            }
        }
        let mut hours = Vec::new();
        for (hour_s, a) in per_hour {
            let Ok(hour) = Timestamp::from_second(hour_s) else {
                continue;
            };
            let dominant = a
                .by_signal
                .iter()
                .max_by(|x, y| x.1.total_cmp(y.1))
                .and_then(|(idx, _)| *idx)
                .and_then(|idx| stored.signals.iter().find(|s| s.idx == idx));
            let (signal, source, provenance) = match dominant {
                Some(s) => (
                    s.meta.signal.to_string(),
                    s.meta.source.clone(),
                    s.meta.provenance.to_string(),
                ),
                None => ("unknown".into(), "none".into(), "unknown".into()),
            };
            hours.push(HourUse {
                hour,
                seconds: a.secs.clamp(f64::MIN_POSITIVE, 3600.0),
                kwh: a.kwh,
                g: a.g,
                intensity: (a.intensity_secs > 0.0).then(|| a.weighted / a.intensity_secs),
                signal,
                source,
                provenance,
            });
        }
        let mut fp = footprint_from(record, hours);
        // Totals from the same sums as the hours, so the record checks exactly.
        fp.facility_kwh = fp.hours.iter().map(|h| h.kwh).sum();
        fp.operational_g = fp.hours.iter().map(|h| h.g).sum();
        fp
    }
}

fn footprint_from(record: &RunRecord, hours: Vec<HourUse>) -> RunFootprint {
    let measured = record
        .devices
        .iter()
        .any(|d| matches!(d.method, EnergyMethod::Measured { .. }));
    let e = &record.embodied;
    RunFootprint {
        run_id: record.run_id.clone(),
        project: record.project.clone(),
        team: None,
        stage: Stage::Other,
        zone: record.zone.as_str().to_string(),
        start: record.started_at,
        end: record
            .ended_at
            .max(record.started_at + jiff::SignedDuration::from_millis(1)),
        it_kwh: record.energy.0,
        pue: record.pue.value.max(1.0),
        facility_kwh: record.facility_energy.0,
        hours,
        operational_g: record.operational.0,
        embodied_g: e.emissions.0,
        embodied_source: Some(format!(
            "{}: {:.1} kg over {:.0} h ({}), share {:.3} ({})",
            e.hardware,
            e.total_kg.value,
            e.lifetime_hours.value,
            e.total_kg.source,
            e.share,
            e.rule.to_text()
        )),
        water_litres: record.water.litres,
        measured_fraction: if measured {
            record.measured_fraction.clamp(0.0, 1.0)
        } else {
            0.0
        },
        hardware: Vec::new(),
    }
}

/// `(hour start, seconds of [start, end) inside it)` for every hour `[start, end)` touches.
pub fn hour_slices(start: Timestamp, end: Timestamp) -> Vec<(Timestamp, f64)> {
    let s = start.as_millisecond();
    let e = end.as_millisecond().max(s);
    let mut out = Vec::new();
    let mut cursor = s;
    loop {
        let hour_ms = cursor.div_euclid(HOUR * 1000) * HOUR * 1000;
        let piece_end = e.min(hour_ms + HOUR * 1000);
        if let Ok(h) = Timestamp::from_millisecond(hour_ms) {
            out.push((h, (piece_end - cursor) as f64 / 1000.0));
        }
        if piece_end >= e {
            break;
        }
        cursor = piece_end;
    }
    out
}

/// The record kinds the books read. Other kinds may share a ledger (it is payload-agnostic);
/// the books skip them.
pub const KINDS: [&str; 7] = [
    "run",
    "job_outcome",
    "hardware",
    "contract",
    "onsite",
    "grid_cfe",
    "functional_units",
];

/// Categories of hardware with a default embodied footprint (Cloud Carbon Footprint
/// coefficients, `data/hardware/embodied-ccf.csv`): a base server (one CPU socket, 16 GB of
/// memory, no storage) and one GPU, each over CCF's 4-year life.
pub const HARDWARE_DEFAULTS: [(&str, f64); 2] = [
    ("server", kite_tracker::hardware::CCF_BASE_SERVER_KG),
    ("gpu", kite_tracker::hardware::CCF_GPU_KG),
];

/// Fills what an entry may leave out before it is appended, so the ledger holds the number that
/// was used and its source: a `hardware` entry without `embodied_kg` gets the CCF default for
/// its category, one without `lifetime_hours` CCF's 4 years, and `source` says so. Other kinds
/// pass through unchanged. Returns the completed value and a note per default applied; a
/// hardware entry with neither a figure nor a known category is an error naming the field.
pub fn with_defaults(mut value: Value) -> Result<(Value, Vec<String>), RecordError> {
    let mut notes = Vec::new();
    let Some(map) = value.as_object_mut() else {
        return Ok((value, notes));
    };
    if map.get("kind").and_then(Value::as_str) != Some("hardware") {
        return Ok((value, notes));
    }
    let id = map
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let mut defaulted = Vec::new();
    if !map.contains_key("embodied_kg") {
        let category = map.get("category").cloned().unwrap_or(Value::Null);
        let kg = category
            .as_str()
            .and_then(|c| HARDWARE_DEFAULTS.iter().find(|(name, _)| *name == c))
            .map(|(_, kg)| *kg);
        let Some(kg) = kg else {
            return Err(err(
                "hardware",
                "embodied_kg",
                &category,
                "missing, and kite has no default for this category",
                "give embodied_kg (kgCO2e, e.g. from the vendor's product carbon footprint), or use category \"server\" or \"gpu\" for the Cloud Carbon Footprint defaults",
            ));
        };
        map.insert("embodied_kg".into(), Value::from(kg));
        defaulted.push(format!("embodied_kg = {kg} kg"));
    }
    if !map.contains_key("lifetime_hours") {
        let h = kite_tracker::hardware::CCF_LIFETIME_HOURS;
        map.insert("lifetime_hours".into(), Value::from(h));
        defaulted.push(format!("lifetime_hours = {h} h"));
    }
    if !defaulted.is_empty() {
        let source = format!(
            "default: {} ({})",
            defaulted.join(", "),
            kite_tracker::hardware::CCF_SOURCE
        );
        let merged = match map.get("source").and_then(Value::as_str) {
            Some(given) if !given.is_empty() => format!("{given}; {source}"),
            _ => source,
        };
        map.insert("source".into(), Value::from(merged));
        notes.push(format!(
            "hardware `{id}`: {} from the Cloud Carbon Footprint coefficients",
            defaulted.join(", ")
        ));
    }
    Ok((value, notes))
}
