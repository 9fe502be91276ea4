//! The report's content as format-neutral blocks (sections, tables, charts, notes), built once
//! from a [`Report`] and written by the HTML and Markdown renderers, so both say the same.

use crate::fmt::{date, kg, mass, number, pct, time};
use crate::{Report, Verification};
use kite_accounting::Statement;

/// How a callout reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Good news (verified).
    Ok,
    /// A failure the reader must see first.
    Bad,
    /// A limitation (no data, partial coverage).
    Warn,
}

/// A table with a caption and a header row; `numeric[i]` right-aligns column `i`.
#[derive(Debug, Clone)]
pub struct Table {
    pub caption: String,
    pub head: Vec<String>,
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
    /// Rows drawn as totals (bold, ruled), after `rows`.
    pub foot: Vec<Vec<String>>,
}

impl Table {
    fn new(caption: &str, head: &[(&str, bool)]) -> Self {
        Table {
            caption: caption.to_owned(),
            head: head.iter().map(|(h, _)| (*h).to_owned()).collect(),
            numeric: head.iter().map(|(_, n)| *n).collect(),
            rows: Vec::new(),
            foot: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

/// One headline figure.
#[derive(Debug, Clone)]
pub struct Card {
    pub label: String,
    pub value: String,
    pub note: String,
}

/// A piece of content.
#[derive(Debug, Clone)]
pub enum Block {
    /// A paragraph of plain text.
    Para(String),
    /// A highlighted note.
    Callout {
        tone: Tone,
        title: String,
        text: String,
    },
    /// Headline figures.
    Cards(Vec<Card>),
    /// Name–value pairs.
    Facts(Vec<(String, String)>),
    /// A table.
    Table(Table),
    /// An SVG chart with a caption.
    Chart { svg: String, caption: String },
    /// Preformatted text behind a disclosure.
    Pre { summary: String, text: String },
    /// A bulleted list.
    List(Vec<String>),
}

/// A titled section.
#[derive(Debug, Clone)]
pub struct Section {
    pub id: &'static str,
    pub title: String,
    pub blocks: Vec<Block>,
}

/// The whole document.
#[derive(Debug, Clone)]
pub struct Doc {
    pub title: String,
    pub subtitle: String,
    pub sections: Vec<Section>,
}

const NO_DATA: &str = "no data";

fn opt_kg(g: Option<f64>) -> String {
    g.map_or_else(|| NO_DATA.to_owned(), kg)
}

fn chart(charts: &[(&'static str, String)], name: &str, caption: &str) -> Option<Block> {
    charts
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, svg)| Block::Chart {
            svg: svg.clone(),
            caption: caption.to_owned(),
        })
}

/// Builds the document.
pub fn build(report: &Report) -> Doc {
    let st = &report.statement;
    let charts = crate::charts::all(st);
    let mut scope = String::new();
    if let Some(p) = &st.filter.project {
        scope += &format!(" · project {p}");
    }
    if let Some(t) = &st.filter.team {
        scope += &format!(" · team {t}");
    }
    let subtitle = format!(
        "{} to {} (end exclusive){scope}{}",
        time(st.period.start),
        time(st.period.end),
        report
            .generated_at
            .as_ref()
            .map(|g| format!(" · generated {g}"))
            .unwrap_or_default()
    );
    let mut sections = vec![ledger(report)];
    if let Some(reason) = &st.no_data {
        sections.push(Section {
            id: "no-data",
            title: "No data".to_owned(),
            blocks: vec![Block::Callout {
                tone: Tone::Warn,
                title: format!("No data for {}", st.period.label),
                text: format!(
                    "{reason}. Nothing below is a zero: there is nothing to count. Check the \
                     period, the project or team filter, and that runs were appended to this ledger."
                ),
            }],
        });
    } else {
        sections.push(summary(st));
    }
    sections.push(scopes(st, &charts));
    sections.push(scope2(st));
    sections.push(scope1_and_3(st));
    sections.push(cfe(st, &charts));
    sections.push(sci(st));
    sections.push(energy_water(st));
    sections.push(jobs(st));
    if let Some(t) = trend(st, &charts) {
        sections.push(t);
    }
    sections.push(coverage(st));
    Doc {
        title: format!("Carbon report {}", st.period.label),
        subtitle,
        sections,
    }
}

fn ledger(report: &Report) -> Section {
    let cp = &report.ledger.checkpoint;
    let callout = match &report.ledger.verification {
        Verification::Verified { detail } => Block::Callout {
            tone: Tone::Ok,
            title: "Ledger verified".to_owned(),
            text: format!(
                "Computed from a ledger that verifies against its signed checkpoint: {detail}."
            ),
        },
        Verification::Failed { error } => Block::Callout {
            tone: Tone::Bad,
            title: "Ledger verification FAILED".to_owned(),
            text: format!(
                "The figures below come from a ledger that does not match its checkpoint; do not \
                 rely on them. {error}"
            ),
        },
    };
    let mut facts = vec![
        ("Log".to_owned(), cp.origin.clone()),
        ("Tree size".to_owned(), format!("{} entries", cp.tree_size)),
        ("Root hash".to_owned(), cp.root_hash.clone()),
        ("Key id".to_owned(), cp.key_id.clone()),
    ];
    if let Some(t) = &cp.time {
        facts.push(("Checkpoint time".to_owned(), t.clone()));
    }
    let mut blocks = vec![callout, Block::Facts(facts)];
    if let Some(note) = &cp.signed_note {
        blocks.push(Block::Pre {
            summary: "Signed checkpoint (verify with `kite ledger verify` and the public key)"
                .to_owned(),
            text: note.clone(),
        });
    }
    Section {
        id: "ledger",
        title: "Ledger checkpoint".to_owned(),
        blocks,
    }
}

fn summary(st: &Statement) -> Section {
    let mut cards = Vec::new();
    if let Some(t) = &st.totals {
        cards.push(Card {
            label: "Total, location-based".to_owned(),
            value: format!("{} CO2e", mass(t.location_based_g)),
            note: "scopes 1 + 2 (location) + 3".to_owned(),
        });
        cards.push(Card {
            label: "Total, market-based".to_owned(),
            value: format!("{} CO2e", mass(t.market_based_g)),
            note: "scopes 1 + 2 (market) + 3".to_owned(),
        });
    }
    if let Some(c) = &st.cfe {
        cards.push(Card {
            label: "24/7 carbon-free energy".to_owned(),
            value: pct(c.hourly_pct),
            note: format!("annual matching {}", pct(c.annual_pct)),
        });
    }
    if let Some(s) = st.sci.first() {
        cards.push(Card {
            label: "SCI".to_owned(),
            value: format!("{} CO2e", mass(s.sci_g_per_unit)),
            note: format!("per {}", s.unit),
        });
    }
    if let Some(e) = &st.energy {
        cards.push(Card {
            label: "Facility energy".to_owned(),
            value: format!("{} kWh", number(e.facility_kwh)),
            note: format!("{} runs", e.runs),
        });
    }
    if let Some(w) = &st.water {
        cards.push(Card {
            label: "Water".to_owned(),
            value: format!("{} L", number(w.litres)),
            note: "on-site and off-site".to_owned(),
        });
    }
    Section {
        id: "summary",
        title: "Summary".to_owned(),
        blocks: vec![Block::Cards(cards)],
    }
}

fn scopes(st: &Statement, charts: &[(&'static str, String)]) -> Section {
    let mut t = Table::new(
        "Emissions by scope, GHG Protocol (kg CO2e)",
        &[
            ("Scope", false),
            ("Source", false),
            ("Location-based", true),
            ("Market-based", true),
        ],
    );
    let s1 = match (&st.scope1, &st.no_data) {
        (_, Some(_)) => NO_DATA.to_owned(),
        (Some(s), None) => kg(s.total_g),
        (None, None) => "none recorded".to_owned(),
    };
    t.row(vec![
        "Scope 1".into(),
        "On-site combustion".into(),
        s1.clone(),
        s1,
    ]);
    t.row(vec![
        "Scope 2".into(),
        "Purchased electricity".into(),
        opt_kg(st.scope2_location.as_ref().map(|s| s.total_g)),
        opt_kg(st.scope2_market.as_ref().map(|s| s.total_g)),
    ]);
    let s3 = opt_kg(st.scope3_embodied.as_ref().map(|s| s.total_g));
    t.row(vec![
        "Scope 3".into(),
        "Embodied hardware (cat. 1 and 2)".into(),
        s3.clone(),
        s3,
    ]);
    let tot = st.totals.as_ref();
    t.foot.push(vec![
        "Total".into(),
        "Scopes 1 + 2 + 3".into(),
        opt_kg(tot.map(|t| t.location_based_g)),
        opt_kg(tot.map(|t| t.market_based_g)),
    ]);
    t.foot.push(vec![
        "Operational".into(),
        "Scopes 1 + 2".into(),
        opt_kg(tot.map(|t| t.operational_location_g)),
        opt_kg(tot.map(|t| t.operational_market_g)),
    ]);
    let mut blocks = vec![Block::Table(t)];
    let offsets = if st.offsets.ids.is_empty() {
        "No offsets were retired in the period.".to_owned()
    } else {
        format!(
            "Offsets retired in the period: {} kg CO2e ({}). They are reported apart and never \
             subtracted from any figure above.",
            kg(st.offsets.retired_g),
            st.offsets.ids.join(", ")
        )
    };
    blocks.push(Block::Para(offsets));
    blocks.extend(chart(
        charts,
        "scopes",
        "Scope 1, 2 and 3 stacked, with scope 2 location-based (left) and market-based (right).",
    ));
    Section {
        id: "scopes",
        title: "Emissions by scope".to_owned(),
        blocks,
    }
}

fn scope2(st: &Statement) -> Section {
    let (Some(loc), Some(mkt)) = (&st.scope2_location, &st.scope2_market) else {
        return no_data_section("scope2", "Scope 2: location-based and market-based");
    };
    let mut t = Table::new(
        "Scope 2 by grid zone",
        &[
            ("Zone", false),
            ("Energy (kWh)", true),
            ("Mean intensity (g/kWh)", true),
            ("Location-based (kg CO2e)", true),
            ("Covered by instruments (kWh)", true),
            ("Market-based (kg CO2e)", true),
            ("Uncovered energy charged at", false),
        ],
    );
    for z in &loc.by_zone {
        let m = mkt.by_zone.iter().find(|m| m.zone == z.zone);
        t.row(vec![
            z.zone.clone(),
            number(z.facility_kwh),
            z.mean_intensity.map_or_else(|| NO_DATA.to_owned(), number),
            kg(z.location_g),
            m.map_or_else(|| "0".to_owned(), |m| number(m.covered_kwh)),
            m.map_or_else(|| NO_DATA.to_owned(), |m| kg(m.covered_g + m.uncovered_g)),
            m.map_or_else(String::new, |m| m.uncovered_basis.clone()),
        ]);
    }
    t.foot.push(vec![
        "All zones".into(),
        number(mkt.covered_kwh + mkt.uncovered_kwh),
        String::new(),
        kg(loc.total_g),
        number(mkt.covered_kwh),
        kg(mkt.total_g),
        String::new(),
    ]);
    let mut blocks = vec![
        Block::Para(
            "Location-based: each hour's facility energy times the grid's intensity in that hour. \
             Market-based: energy covered by eligible contractual instruments (same market, \
             matching period) at their emission factor, the rest at the residual mix."
                .to_owned(),
        ),
        Block::Table(t),
    ];
    if !mkt.instruments.is_empty() {
        let mut i = Table::new(
            "Contractual instruments and the quality criteria",
            &[
                ("Id", false),
                ("Instrument", false),
                ("Market", false),
                ("Technology", false),
                ("Allocated (kWh)", true),
                ("Used (kWh)", true),
                ("Eligible", false),
                ("Why / notes", false),
            ],
        );
        for u in &mkt.instruments {
            let mut why = u.failures.clone();
            why.extend(u.notes.iter().cloned());
            i.row(vec![
                u.id.clone(),
                u.instrument.clone(),
                u.market.clone(),
                u.technology.clone(),
                number(u.allocated_kwh),
                number(u.used_kwh),
                if u.eligible { "yes" } else { "no" }.to_owned(),
                why.join("; "),
            ]);
        }
        blocks.push(Block::Table(i));
    }
    Section {
        id: "scope2",
        title: "Scope 2: location-based and market-based".to_owned(),
        blocks,
    }
}

fn scope1_and_3(st: &Statement) -> Section {
    let mut blocks = Vec::new();
    match &st.scope1 {
        Some(s) if !s.items.is_empty() => {
            let mut t = Table::new(
                "Scope 1: on-site combustion",
                &[
                    ("Description", false),
                    ("Fuel", false),
                    ("Quantity", true),
                    ("Unit", false),
                    ("kg CO2e", true),
                    ("Factor source", false),
                ],
            );
            for l in &s.items {
                t.row(vec![
                    l.description.clone(),
                    l.fuel.clone(),
                    number(l.quantity),
                    l.unit.clone(),
                    kg(l.g),
                    l.source.clone(),
                ]);
            }
            blocks.push(Block::Table(t));
        }
        _ => blocks.push(Block::Para(
            "Scope 1: the ledger holds no on-site combustion entries for the period.".to_owned(),
        )),
    }
    match &st.scope3_embodied {
        Some(s) => {
            let mut t = Table::new(
                "Scope 3: embodied emissions of the hardware, amortised by use",
                &[
                    ("Hardware", false),
                    ("Embodied (kg CO2e)", true),
                    ("Lifetime (h)", true),
                    ("Used (h)", true),
                    ("Charged (kg CO2e)", true),
                    ("Source", false),
                ],
            );
            for l in &s.items {
                t.row(vec![
                    l.hardware_id.clone(),
                    number(l.embodied_kg),
                    number(l.lifetime_hours),
                    number(l.used_hours),
                    kg(l.g),
                    l.source.clone(),
                ]);
            }
            if s.from_runs_g > 0.0 {
                t.row(vec![
                    "runs without an inventory item".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    kg(s.from_runs_g),
                    "the runs' own SCI M".into(),
                ]);
            }
            t.foot.push(vec![
                "Total charged".into(),
                String::new(),
                String::new(),
                String::new(),
                kg(s.total_g),
                String::new(),
            ]);
            blocks.push(Block::Table(t));
            if let Some(u) = s.unallocated_g {
                blocks.push(Block::Para(format!(
                    "Not charged to any run: {} kg CO2e of in-service hardware time no counted run used.",
                    kg(u)
                )));
            }
        }
        None => blocks.push(Block::Para(format!("Scope 3 embodied: {NO_DATA}."))),
    }
    Section {
        id: "scope1-3",
        title: "Scope 1 and scope 3 detail".to_owned(),
        blocks,
    }
}

fn cfe(st: &Statement, charts: &[(&'static str, String)]) -> Section {
    let Some(c) = &st.cfe else {
        return no_data_section("cfe", "24/7 carbon-free energy");
    };
    let mut blocks = vec![Block::Cards(vec![
        Card {
            label: "24/7 CFE score (hourly)".into(),
            value: pct(c.hourly_pct),
            note: "load matched by carbon-free energy in the same hour".into(),
        },
        Card {
            label: "Annual matching".into(),
            value: pct(c.annual_pct),
            note: "contracted clean energy ÷ load over the period".into(),
        },
        Card {
            label: "Annual, renewable only".into(),
            value: pct(c.renewable_annual_pct),
            note: "what a \"100 % renewable\" claim rests on".into(),
        },
        Card {
            label: "Gap".into(),
            value: format!("{:.1} pp", c.gap_pct),
            note: "what annual matching claims beyond the hours".into(),
        },
    ])];
    if !c.notes.is_empty() {
        blocks.push(Block::List(c.notes.clone()));
    }
    blocks.extend(chart(
        charts,
        "cfe-hourly",
        "Each hour's load against the carbon-free energy matched to it, with no carry-over between hours.",
    ));
    let mut t = Table::new(
        "24/7 CFE by zone",
        &[
            ("Zone", false),
            ("Load (kWh)", true),
            ("Matched (kWh)", true),
            ("from contracts", true),
            ("from grid", true),
            ("Contracted (kWh)", true),
            ("Hourly", true),
            ("Annual", true),
            ("Grid clean share", false),
        ],
    );
    for z in &c.by_zone {
        let mut src = z.grid_share_source.clone();
        if z.hours_without_grid_share > 0 {
            src += &format!(" ({} h unknown, counted as 0)", z.hours_without_grid_share);
        }
        t.row(vec![
            z.zone.clone(),
            number(z.load_kwh),
            number(z.matched_kwh),
            number(z.matched_contract_kwh),
            number(z.matched_grid_kwh),
            number(z.contracted_kwh),
            pct(z.hourly_pct),
            pct(z.annual_pct),
            src,
        ]);
    }
    blocks.push(Block::Table(t));
    blocks.extend(chart(
        charts,
        "cfe-zones",
        "Hourly matching beside annual matching, per zone and overall.",
    ));
    Section {
        id: "cfe",
        title: "24/7 carbon-free energy".to_owned(),
        blocks,
    }
}

fn sci(st: &Statement) -> Section {
    if st.sci.is_empty() {
        return no_data_section("sci", "Software Carbon Intensity (SCI)");
    }
    let mut t = Table::new(
        "SCI = (E·I + M) / R",
        &[
            ("For", false),
            ("Functional unit", false),
            ("R", true),
            ("E·I (g CO2e)", true),
            ("M (g CO2e)", true),
            ("SCI (g CO2e per unit)", true),
            ("R from", false),
        ],
    );
    for s in &st.sci {
        t.row(vec![
            s.project.clone().unwrap_or_else(|| "all runs".into()),
            s.unit.clone(),
            number(s.units),
            number(s.operational_g),
            number(s.embodied_g),
            number(s.sci_g_per_unit),
            s.source.clone(),
        ]);
    }
    Section {
        id: "sci",
        title: "Software Carbon Intensity (SCI)".to_owned(),
        blocks: vec![
            Block::Para(
                "ISO/IEC 21031 (GSF SCI v1.1): location-based operational emissions plus embodied \
                 emissions per functional unit. Market instruments and offsets never reduce it."
                    .to_owned(),
            ),
            Block::Table(t),
        ],
    }
}

fn energy_water(st: &Statement) -> Section {
    let mut facts = Vec::new();
    match &st.energy {
        Some(e) => {
            facts.push(("IT energy".into(), format!("{} kWh", number(e.it_kwh))));
            facts.push((
                "Facility energy (IT × PUE)".into(),
                format!("{} kWh", number(e.facility_kwh)),
            ));
            facts.push((
                "Measured by sensors".into(),
                pct(e.measured_fraction * 100.0),
            ));
            facts.push(("Runs".into(), e.runs.to_string()));
        }
        None => facts.push(("Energy".into(), NO_DATA.into())),
    }
    facts.push((
        "Water".into(),
        st.water
            .as_ref()
            .map_or_else(|| NO_DATA.into(), |w| format!("{} L", number(w.litres))),
    ));
    let mut blocks = vec![Block::Facts(facts)];
    if !st.stages.is_empty() {
        let mut t = Table::new(
            "By lifecycle stage",
            &[
                ("Stage", false),
                ("Energy (kWh)", true),
                ("kg CO2e", true),
                ("Runs", true),
            ],
        );
        for s in &st.stages {
            t.row(vec![
                s.stage.as_str().to_owned(),
                s.facility_kwh.map_or_else(|| "—".into(), number),
                kg(s.g),
                s.runs.map_or_else(|| "—".into(), |r| r.to_string()),
            ]);
        }
        blocks.push(Block::Table(t));
    }
    Section {
        id: "energy",
        title: "Energy, water and lifecycle stages".to_owned(),
        blocks,
    }
}

fn jobs(st: &Statement) -> Section {
    let mut blocks = Vec::new();
    if st.top_jobs.is_empty() {
        blocks.push(Block::Para(format!("Top jobs: {NO_DATA}.")));
    } else {
        let mut t = Table::new(
            "Runs with the largest emissions (location-based operational + embodied)",
            &[
                ("Run", false),
                ("Project", false),
                ("Team", false),
                ("Stage", false),
                ("Zone", false),
                ("Start", false),
                ("Energy (kWh)", true),
                ("Operational (kg)", true),
                ("Embodied (kg)", true),
            ],
        );
        for j in &st.top_jobs {
            t.row(vec![
                j.run_id.clone(),
                j.project.clone(),
                j.team.clone().unwrap_or_default(),
                j.stage.as_str().to_owned(),
                j.zone.clone(),
                time(j.start),
                number(j.facility_kwh),
                kg(j.operational_g),
                kg(j.embodied_g),
            ]);
        }
        blocks.push(Block::Table(t));
    }
    if let Some(o) = &st.job_outcomes {
        blocks.push(Block::Facts(vec![
            ("Scheduled jobs".into(), o.jobs.to_string()),
            ("As run".into(), format!("{} kg CO2e", kg(o.actual_g))),
            (
                "Had they started at once".into(),
                format!("{} kg CO2e", kg(o.counterfactual_g)),
            ),
            (
                "Avoided by scheduling".into(),
                format!("{} kg CO2e", kg(o.avoided_g)),
            ),
        ]));
    }
    Section {
        id: "jobs",
        title: "Top jobs".to_owned(),
        blocks,
    }
}

fn trend(st: &Statement, charts: &[(&'static str, String)]) -> Option<Section> {
    if st.trend.is_empty() {
        return None;
    }
    let mut t = Table::new(
        "By month",
        &[
            ("Month", false),
            ("Energy (kWh)", true),
            ("Scope 2 location (kg)", true),
            ("Scope 2 market (kg)", true),
            ("Scope 3 embodied (kg)", true),
        ],
    );
    for p in &st.trend {
        t.row(vec![
            p.month.clone(),
            p.facility_kwh.map_or_else(|| NO_DATA.into(), number),
            opt_kg(p.location_g),
            opt_kg(p.market_g),
            opt_kg(p.embodied_g),
        ]);
    }
    let mut blocks = Vec::new();
    blocks.extend(chart(
        charts,
        "trend",
        "Monthly emissions; a month without data is marked, not drawn as zero.",
    ));
    blocks.push(Block::Table(t));
    Some(Section {
        id: "trend",
        title: "Trend".to_owned(),
        blocks,
    })
}

fn coverage(st: &Statement) -> Section {
    let c = &st.coverage;
    let mut facts = vec![
        (
            "Hours with data".into(),
            format!("{} of {}", c.hours_with_data, c.period_hours),
        ),
        (
            "Days with data".into(),
            format!("{} of {}", c.days_with_data, c.period_days),
        ),
    ];
    if let (Some(a), Some(b)) = (c.first, c.last) {
        facts.push((
            "First and last activity".into(),
            format!("{} – {}", time(a), time(b)),
        ));
    }
    let mut blocks = vec![Block::Facts(facts)];
    if c.days_with_data < c.period_days && st.no_data.is_none() {
        blocks.push(Block::Callout {
            tone: Tone::Warn,
            title: "Partial coverage".into(),
            text: format!(
                "{} of {} days have no ledger entries; the figures cover only the days with data.",
                c.period_days - c.days_with_data,
                c.period_days
            ),
        });
    }
    if !c.gaps.is_empty() {
        blocks.push(Block::List(
            c.gaps
                .iter()
                .map(|g| {
                    format!(
                        "No entries from {} to {} (end exclusive)",
                        date(g.start),
                        date(g.end)
                    )
                })
                .collect(),
        ));
    }
    if !c.months_without_data.is_empty() {
        blocks.push(Block::Para(format!(
            "Months without data: {}.",
            c.months_without_data.join(", ")
        )));
    }
    if !st.caveats.is_empty() {
        blocks.push(Block::Para("Caveats:".into()));
        blocks.push(Block::List(st.caveats.clone()));
    }
    Section {
        id: "coverage",
        title: "Coverage and caveats".to_owned(),
        blocks,
    }
}

fn no_data_section(id: &'static str, title: &str) -> Section {
    Section {
        id,
        title: title.to_owned(),
        blocks: vec![Block::Para(format!("{NO_DATA} for this period."))],
    }
}
