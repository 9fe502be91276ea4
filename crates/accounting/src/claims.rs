//! Public claims checked against the books ("greenwashing checks").
//!
//! A `CLAIMS.toml` holds `[[claim]]` tables:
//!
//! ```toml
//! [[claim]]
//! id = "re100"
//! kind = "renewable_percent"     # renewable_percent | carbon_neutral | net_zero | reduction
//! text = "Our training ran on 100 % renewable electricity in 2026"
//! period = "2026"                # 2026, 2026-Q4, 2026-10, FROM..TO
//! project = "llm"                # optional; team = "..." likewise
//! percent = 100                  # renewable_percent: the share claimed; reduction: the cut
//! basis = "annual"               # renewable_percent: what the claim rests on, annual | hourly
//! reports = ["market_based"]     # figures the public statement discloses
//! includes_embodied = false      # whether the footprint claimed includes embodied carbon
//! baseline = "2025"              # reduction, net_zero: the baseline period
//! emissions = "location_based"   # reduction: which figure is compared (default location_based)
//! ```
//!
//! [`check`] builds the statements a claim needs and returns findings, each with a severity,
//! an explanation and the numbers behind it. A claim fails when any finding is
//! [`Severity::Fail`].

use crate::books::{BooksOptions, statement};
use crate::record::Record;
use crate::statement::{Filter, Period, Statement};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A claims file that could not be read: where, the value, what is wrong and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClaimsError {
    /// Not valid TOML, or a field of the wrong type / unknown (toml's message names the line,
    /// column and key).
    #[error("{0}")]
    Syntax(String),
    /// A field with a value that makes no sense.
    #[error(transparent)]
    Field(Box<FieldError>),
}

/// A claim field with a value that makes no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("claim[{index}]{id}: field `{field}` = {value}: {problem}; {fix}")]
pub struct FieldError {
    /// Index of the claim in the file, from 0.
    pub index: usize,
    /// ` (id X)` when the claim has an id.
    pub id: String,
    /// The field.
    pub field: String,
    /// The value found, or `(missing)`.
    pub value: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

/// What a claim says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    /// "X % renewable".
    RenewablePercent,
    /// "Carbon neutral".
    CarbonNeutral,
    /// "Net zero".
    NetZero,
    /// "X % lower than (baseline)".
    Reduction,
}

/// Which emissions figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Scope 2 location-based.
    LocationBased,
    /// Scope 2 market-based.
    MarketBased,
}

/// What a renewable claim rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Matching {
    /// Annual volume matching (certificates over the year).
    Annual,
    /// Hourly matching (24/7).
    Hourly,
}

/// One claim as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Id, for people and reports.
    #[serde(default)]
    pub id: Option<String>,
    /// What it claims.
    pub kind: ClaimKind,
    /// The claim's wording.
    #[serde(default)]
    pub text: Option<String>,
    /// The period it is about.
    pub period: String,
    /// Only this project.
    #[serde(default)]
    pub project: Option<String>,
    /// Only this team.
    #[serde(default)]
    pub team: Option<String>,
    /// Percent claimed (renewable share, or reduction).
    #[serde(default)]
    pub percent: Option<f64>,
    /// What a renewable claim rests on; unset reads as "all the time" (hourly).
    #[serde(default)]
    pub basis: Option<Matching>,
    /// Figures the public statement discloses.
    #[serde(default)]
    pub reports: Vec<Basis>,
    /// Whether the footprint claimed includes embodied carbon.
    #[serde(default)]
    pub includes_embodied: bool,
    /// Baseline period (reduction, net zero).
    #[serde(default)]
    pub baseline: Option<String>,
    /// Which figure a reduction compares (default location-based).
    #[serde(default)]
    pub emissions: Option<Basis>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimsFile {
    #[serde(default)]
    claim: Vec<Claim>,
}

/// Parses and checks a claims file.
pub fn parse_claims(text: &str) -> Result<Vec<Claim>, ClaimsError> {
    let file: ClaimsFile = toml::from_str(text).map_err(|e| ClaimsError::Syntax(e.to_string()))?;
    if file.claim.is_empty() {
        return Err(ClaimsError::Syntax(
            "no claims: add at least one [[claim]] table (see docs/accounting.md)".into(),
        ));
    }
    for (index, c) in file.claim.iter().enumerate() {
        let bad = |field: &str, value: String, problem: &str, fix: &str| {
            ClaimsError::Field(Box::new(FieldError {
                index,
                id: c
                    .id
                    .as_ref()
                    .map_or(String::new(), |i| format!(" (id {i})")),
                field: field.into(),
                value,
                problem: problem.into(),
                fix: fix.into(),
            }))
        };
        if let Err(e) = Period::parse(&c.period) {
            return Err(bad(
                "period",
                format!("{:?}", c.period),
                &e.problem,
                "write 2026, 2026-Q4, 2026-10, 2026-10-05 or FROM..TO",
            ));
        }
        if let Some(b) = &c.baseline
            && let Err(e) = Period::parse(b)
        {
            return Err(bad(
                "baseline",
                format!("{b:?}"),
                &e.problem,
                "write the baseline period, e.g. 2025",
            ));
        }
        match c.kind {
            ClaimKind::RenewablePercent | ClaimKind::Reduction => match c.percent {
                None => {
                    return Err(bad(
                        "percent",
                        "(missing)".into(),
                        "is required for this kind",
                        "give the percentage claimed, e.g. percent = 100",
                    ));
                }
                Some(p) if !(p.is_finite() && p > 0.0 && p <= 100.0) => {
                    return Err(bad(
                        "percent",
                        p.to_string(),
                        "is not in (0, 100]",
                        "give the percentage claimed, e.g. 100 or 30",
                    ));
                }
                Some(_) => {}
            },
            ClaimKind::CarbonNeutral | ClaimKind::NetZero => {}
        }
        if c.kind == ClaimKind::Reduction && c.baseline.is_none() {
            return Err(bad(
                "baseline",
                "(missing)".into(),
                "a reduction needs a baseline",
                "give the period compared against, e.g. baseline = \"2025\"",
            ));
        }
    }
    Ok(file.claim)
}

/// Whether the records were verified against a ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Verification {
    /// The ledger verified.
    Verified {
        /// Entries checked.
        entries: u64,
        /// Entries no signed checkpoint covers yet (their bytes match their hashes, but
        /// nothing signed vouches for them).
        unsigned: u64,
        /// The checkpoint verified against, if any (for people).
        checkpoint: Option<String>,
    },
    /// The ledger failed verification.
    Failed {
        /// What failed first.
        first_failure: String,
    },
    /// The records did not come from a verified ledger (e.g. a plain file).
    NotVerified {
        /// Why.
        reason: String,
    },
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record.
    Info,
    /// Misleading or incomplete, not false.
    Warning,
    /// The claim is not supported by the books.
    Fail,
}

impl Severity {
    /// `info`, `warning`, `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Fail => "fail",
        }
    }
}

/// One finding about a claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Which check: `ledger_verification`, `no_data`, `coverage`, `hourly_gap`,
    /// `annual_matching`, `instrument_quality`, `offsets_netted`, `market_without_location`,
    /// `embodied_omitted`, `reduction_short`, `baseline_flatters`, `net_zero_depth`,
    /// `market_based_reduction`.
    pub check: String,
    /// How bad.
    pub severity: Severity,
    /// The explanation, with the numbers in words.
    pub message: String,
    /// The numbers, by name (units in the name).
    pub numbers: BTreeMap<String, f64>,
}

/// A claim's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    /// Claim id (or `claim[N]`).
    pub id: String,
    /// Its kind.
    pub kind: ClaimKind,
    /// Its wording, if given.
    pub text: Option<String>,
    /// Its period label.
    pub period: String,
    /// Worst severity found (`info` when nothing is wrong).
    pub verdict: Severity,
    /// The findings, worst first.
    pub findings: Vec<Finding>,
}

impl ClaimResult {
    /// Whether the claim is supported (no failing finding).
    pub fn passed(&self) -> bool {
        self.verdict != Severity::Fail
    }
}

fn finding(check: &str, severity: Severity, message: String, numbers: &[(&str, f64)]) -> Finding {
    Finding {
        check: check.into(),
        severity,
        message,
        numbers: numbers
            .iter()
            .map(|(k, v)| ((*k).to_string(), *v))
            .collect(),
    }
}

/// Grams in the unit that keeps the number readable (a short job's grams are not "0.000 t").
fn t(g: f64) -> String {
    let a = g.abs();
    if a >= 1e6 {
        format!("{:.3} t", g / 1e6)
    } else if a >= 1e3 {
        format!("{:.3} kg", g / 1e3)
    } else if a >= 0.01 || a == 0.0 {
        format!("{g:.3} g")
    } else {
        format!("{g:.3e} g")
    }
}

/// The footprint a claim is about, grams; `None`: no data.
fn footprint(st: &Statement, basis: Basis, embodied: bool) -> Option<f64> {
    let tot = st.totals.as_ref()?;
    let op = match basis {
        Basis::LocationBased => tot.operational_location_g,
        Basis::MarketBased => tot.operational_market_g,
    };
    let m = if embodied {
        st.scope3_embodied.as_ref().map_or(0.0, |s| s.total_g)
    } else {
        0.0
    };
    Some(op + m)
}

/// Checks every claim against the books built from `records`.
pub fn check(
    claims: &[Claim],
    records: &[Record],
    verification: &Verification,
    options: &BooksOptions,
) -> Vec<ClaimResult> {
    claims
        .iter()
        .enumerate()
        .map(|(i, c)| check_one(i, c, records, verification, options))
        .collect()
}

fn check_one(
    index: usize,
    c: &Claim,
    records: &[Record],
    verification: &Verification,
    options: &BooksOptions,
) -> ClaimResult {
    let mut f = Vec::new();
    let filter = Filter {
        project: c.project.clone(),
        team: c.team.clone(),
    };
    let id = c.id.clone().unwrap_or_else(|| format!("claim[{index}]"));
    let result = |mut f: Vec<Finding>| {
        f.sort_by_key(|x: &Finding| std::cmp::Reverse(x.severity));
        ClaimResult {
            id: id.clone(),
            kind: c.kind,
            text: c.text.clone(),
            period: c.period.clone(),
            verdict: f.iter().map(|x| x.severity).max().unwrap_or(Severity::Info),
            findings: f,
        }
    };
    match verification {
        Verification::Failed { first_failure } => f.push(finding(
            "ledger_verification",
            Severity::Fail,
            format!("the ledger fails verification ({first_failure}): no number from it can back a claim"),
            &[],
        )),
        Verification::NotVerified { reason } => f.push(finding(
            "ledger_verification",
            Severity::Warning,
            format!("the records were not verified against a signed ledger ({reason})"),
            &[],
        )),
        Verification::Verified { entries, unsigned, .. } if *unsigned > 0 => f.push(finding(
            "ledger_verification",
            Severity::Warning,
            format!(
                "the ledger verified, but {unsigned} of its {entries} entries are not yet covered by a                  signed checkpoint (run `kite ledger checkpoint`)"
            ),
            &[("entries", *entries as f64), ("unsigned", *unsigned as f64)],
        )),
        Verification::Verified { entries, .. } => f.push(finding(
            "ledger_verification",
            Severity::Info,
            format!("the ledger verified ({entries} entries, all under a signed checkpoint)"),
            &[("entries", *entries as f64)],
        )),
    }
    // parse_claims checked the periods; a claim built in code may still be wrong.
    let period = match Period::parse(&c.period) {
        Ok(p) => p,
        Err(e) => {
            f.push(finding("no_data", Severity::Fail, e.to_string(), &[]));
            return result(f);
        }
    };
    let st = statement(records, &period, &filter, options);
    if let Some(why) = &st.no_data {
        f.push(finding(
            "no_data",
            Severity::Fail,
            format!("{why}: nothing supports the claim"),
            &[],
        ));
        return result(f);
    }
    let cov = &st.coverage;
    if !cov.months_without_data.is_empty() {
        f.push(finding(
            "coverage",
            Severity::Fail,
            format!(
                "the claim covers {} but the ledger has no entries for {}: the books cannot speak for those months",
                period.label,
                cov.months_without_data.join(", ")
            ),
            &[
                ("period_days", cov.period_days as f64),
                ("days_with_data", cov.days_with_data as f64),
            ],
        ));
    } else if cov.days_with_data < cov.period_days {
        f.push(finding(
            "coverage",
            Severity::Warning,
            format!(
                "{} of {} days of {} have ledger entries ({} gaps); the claim is only as good as the days covered",
                cov.days_with_data,
                cov.period_days,
                period.label,
                cov.gaps.len()
            ),
            &[
                ("period_days", cov.period_days as f64),
                ("days_with_data", cov.days_with_data as f64),
            ],
        ));
    }
    let loc = footprint(&st, Basis::LocationBased, true);
    if c.reports.contains(&Basis::MarketBased) && !c.reports.contains(&Basis::LocationBased) {
        f.push(finding(
            "market_without_location",
            Severity::Fail,
            format!(
                "the market-based figure ({}) is reported without the location-based one ({}); the \
                 GHG Protocol Scope 2 Guidance requires both (dual reporting)",
                t(st.scope2_market.as_ref().map_or(0.0, |s| s.total_g)),
                t(st.scope2_location.as_ref().map_or(0.0, |s| s.total_g)),
            ),
            &[
                (
                    "scope2_market_g",
                    st.scope2_market.as_ref().map_or(0.0, |s| s.total_g),
                ),
                (
                    "scope2_location_g",
                    st.scope2_location.as_ref().map_or(0.0, |s| s.total_g),
                ),
            ],
        ));
    }
    let embodied = st.scope3_embodied.as_ref().map_or(0.0, |s| s.total_g);
    if c.kind != ClaimKind::RenewablePercent && !c.includes_embodied && embodied > 0.0 {
        let share = loc.map_or(0.0, |l| if l > 0.0 { 100.0 * embodied / l } else { 0.0 });
        f.push(finding(
            "embodied_omitted",
            Severity::Warning,
            format!(
                "embodied (hardware manufacturing) emissions of {} ({share:.1} % of the location-based \
                 total) are left out of the claim",
                t(embodied)
            ),
            &[("embodied_g", embodied), ("embodied_share_pct", share)],
        ));
    }
    let instruments = st
        .scope2_market
        .as_ref()
        .map(|m| m.instruments.as_slice())
        .unwrap_or(&[]);
    for u in instruments
        .iter()
        .filter(|u| !u.eligible && u.instrument != "offset")
    {
        f.push(finding(
            "instrument_quality",
            Severity::Warning,
            format!(
                "instrument `{}` is not counted: {}",
                u.id,
                u.failures.join("; ")
            ),
            &[],
        ));
    }
    let offsets = st.offsets.retired_g;
    match c.kind {
        ClaimKind::RenewablePercent => renewable(c, &st, &mut f),
        ClaimKind::CarbonNeutral => {
            let e = footprint(&st, Basis::MarketBased, c.includes_embodied).unwrap_or(0.0);
            let el = footprint(&st, Basis::LocationBased, c.includes_embodied).unwrap_or(0.0);
            let nums = [
                ("market_based_g", e),
                ("location_based_g", el),
                ("offsets_g", offsets),
            ];
            if offsets <= 0.0 && e > 0.0 {
                f.push(finding(
                    "offsets_netted",
                    Severity::Fail,
                    format!("market-based emissions are {} and no offsets were retired: not neutral by any method", t(e)),
                    &nums,
                ));
            } else if offsets + 1e-6 < e {
                f.push(finding(
                    "offsets_netted",
                    Severity::Fail,
                    format!(
                        "offsets of {} do not even balance the market-based emissions of {}",
                        t(offsets),
                        t(e)
                    ),
                    &nums,
                ));
            } else if offsets > 0.0 {
                f.push(finding(
                    "offsets_netted",
                    Severity::Warning,
                    format!(
                        "neutral only by netting {} of offsets against {} emitted (market-based; {} \
                         location-based): the GHG Protocol reports offsets apart from the inventory, \
                         and the emissions happened",
                        t(offsets),
                        t(e),
                        t(el)
                    ),
                    &nums,
                ));
            }
            // Neutral on paper because certificates zeroed the market-based figure, while the
            // grid still emitted for this load: say how much.
            if offsets + 1e-6 < el && e + 1e-6 < el {
                f.push(finding(
                    "market_based_only",
                    Severity::Warning,
                    format!(
                        "neutral only on the market-based figure ({}): the grid emitted {} for this load \
                         (location-based), which contractual instruments do not remove",
                        t(e),
                        t(el)
                    ),
                    &nums,
                ));
            }
        }
        ClaimKind::NetZero => {
            let e = footprint(&st, Basis::LocationBased, c.includes_embodied).unwrap_or(0.0);
            let mut nums = vec![("location_based_g", e), ("offsets_g", offsets)];
            if offsets > 0.0 && e > 0.0 {
                f.push(finding(
                    "offsets_netted",
                    Severity::Warning,
                    format!(
                        "{} of offsets are netted against {} emitted (location-based)",
                        t(offsets),
                        t(e)
                    ),
                    &nums,
                ));
            }
            match c.baseline.as_deref().and_then(|b| Period::parse(b).ok()) {
                None => f.push(finding(
                    "net_zero_depth",
                    Severity::Fail,
                    "net zero (SBTi Corporate Net-Zero Standard) means cutting emissions by at least 90 % \
                     from a baseline before neutralising the rest; no baseline is given"
                        .into(),
                    &nums,
                )),
                Some(b) => {
                    let sb = statement(records, &b, &filter, options);
                    match footprint(&sb, Basis::LocationBased, c.includes_embodied) {
                        None => f.push(finding(
                            "net_zero_depth",
                            Severity::Fail,
                            format!("the baseline {} has no data in the ledger", b.label),
                            &nums,
                        )),
                        Some(eb) => {
                            let cut = if eb > 0.0 { 100.0 * (1.0 - e / eb) } else { 0.0 };
                            nums.push(("baseline_g", eb));
                            nums.push(("reduction_pct", cut));
                            if cut < 90.0 {
                                f.push(finding(
                                    "net_zero_depth",
                                    Severity::Fail,
                                    format!(
                                        "emissions fell {cut:.1} % from {} ({} → {}); net zero needs at least 90 % before offsets",
                                        b.label,
                                        t(eb),
                                        t(e)
                                    ),
                                    &nums,
                                ));
                            }
                        }
                    }
                }
            }
        }
        ClaimKind::Reduction => reduction(c, &st, records, &filter, options, &mut f),
    }
    result(f)
}

fn renewable(c: &Claim, st: &Statement, f: &mut Vec<Finding>) {
    let Some(cfe) = &st.cfe else { return };
    let claimed = c.percent.unwrap_or(100.0);
    let nums = [
        ("claimed_pct", claimed),
        ("annual_renewable_pct", cfe.renewable_annual_pct),
        ("annual_cfe_pct", cfe.annual_pct),
        ("hourly_cfe_pct", cfe.hourly_pct),
    ];
    if cfe.renewable_annual_pct + 0.05 < claimed {
        f.push(finding(
            "annual_matching",
            Severity::Fail,
            format!(
                "even on annual matching, eligible renewable instruments cover {:.1} % of the load, not {claimed:.1} %",
                cfe.renewable_annual_pct
            ),
            &nums,
        ));
    }
    if cfe.hourly_pct + 0.05 < claimed {
        let disclosed = c.basis == Some(Matching::Annual);
        f.push(finding(
            "hourly_gap",
            if disclosed { Severity::Warning } else { Severity::Fail },
            format!(
                "hour by hour only {:.1} % of the load was matched by carbon-free supply (annual \
                 matching: {:.1} %): a gap of {:.1} points{}",
                cfe.hourly_pct,
                cfe.renewable_annual_pct,
                cfe.renewable_annual_pct - cfe.hourly_pct,
                if disclosed {
                    "; the claim says it rests on annual matching, but readers take it as all the time"
                } else {
                    "; the claim does not say it rests on annual matching"
                }
            ),
            &nums,
        ));
    }
}

fn reduction(
    c: &Claim,
    st: &Statement,
    records: &[Record],
    filter: &Filter,
    options: &BooksOptions,
    f: &mut Vec<Finding>,
) {
    let basis = c.emissions.unwrap_or(Basis::LocationBased);
    let claimed = c.percent.unwrap_or(0.0);
    let Some(b) = c.baseline.as_deref().and_then(|b| Period::parse(b).ok()) else {
        return;
    };
    let Some(cur) = footprint(st, basis, c.includes_embodied) else {
        return;
    };
    let sb = statement(records, &b, filter, options);
    let Some(base) = footprint(&sb, basis, c.includes_embodied) else {
        f.push(finding(
            "reduction_short",
            Severity::Fail,
            format!(
                "the baseline {} has no data in the ledger: the reduction cannot be checked",
                b.label
            ),
            &[],
        ));
        return;
    };
    let cut = |from: f64| {
        if from > 0.0 {
            100.0 * (1.0 - cur / from)
        } else {
            0.0
        }
    };
    let actual = cut(base);
    let nums = [
        ("baseline_g", base),
        ("current_g", cur),
        ("claimed_pct", claimed),
        ("actual_pct", actual),
    ];
    if actual + 0.05 < claimed {
        f.push(finding(
            "reduction_short",
            Severity::Fail,
            format!(
                "emissions went from {} ({}) to {} ({}): {actual:.1} %, not the {claimed:.1} % claimed",
                t(base),
                b.label,
                t(cur),
                st.period.label
            ),
            &nums,
        ));
    }
    if (b.seconds() - st.period.seconds()).abs() > 0.1 * st.period.seconds() {
        f.push(finding(
            "baseline_flatters",
            Severity::Warning,
            format!(
                "the baseline {} and the period {} differ in length ({:.0} vs {:.0} days)",
                b.label,
                st.period.label,
                b.seconds() / 86400.0,
                st.period.seconds() / 86400.0
            ),
            &nums,
        ));
    }
    if basis == Basis::MarketBased {
        let lb = footprint(&sb, Basis::LocationBased, c.includes_embodied).unwrap_or(0.0);
        let lc = footprint(st, Basis::LocationBased, c.includes_embodied).unwrap_or(0.0);
        let lcut = if lb > 0.0 {
            100.0 * (1.0 - lc / lb)
        } else {
            0.0
        };
        f.push(finding(
            "market_based_reduction",
            Severity::Warning,
            format!(
                "the reduction is on market-based emissions, which certificates can lower without any \
                 change in the grid's emissions; location-based the cut is {lcut:.1} %"
            ),
            &[("location_reduction_pct", lcut)],
        ));
    }
    // Other periods of the baseline's length, before and after it, that the ledger has data for.
    let mut others = Vec::new();
    for k in (-10..=10).filter(|k| *k != 0) {
        let Some(p) = b.shifted(k) else { continue };
        if p.start < st.period.end && st.period.start < p.end {
            continue;
        }
        let s = statement(records, &p, filter, options);
        if let Some(x) = footprint(&s, basis, c.includes_embodied) {
            others.push((p.label, x));
        }
    }
    if others.is_empty() {
        return;
    }
    let mut values: Vec<f64> = others.iter().map(|o| o.1).collect();
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    if median > 0.0 && base > 1.2 * median {
        let vs_median = cut(median);
        let severity = if vs_median + 0.05 < claimed {
            Severity::Fail
        } else {
            Severity::Warning
        };
        f.push(finding(
            "baseline_flatters",
            severity,
            format!(
                "the baseline {} ({}) is {:.0} % above the median of {} other comparable periods in \
                 the ledger ({}: {}); against that median the reduction is {vs_median:.1} %",
                b.label,
                t(base),
                100.0 * (base / median - 1.0),
                n,
                t(median),
                others.iter().map(|o| o.0.as_str()).collect::<Vec<_>>().join(", ")
            ),
            &[("baseline_g", base), ("median_other_g", median), ("reduction_vs_median_pct", vs_median), ("claimed_pct", claimed)],
        ));
    }
}
