//! Where a number came from. Every intensity value kite shows carries a [`SignalMeta`]: average
//! or marginal, lifecycle or direct factors, the data source, when it was fetched, and whether
//! it was measured, forecast or estimated. Mixing these silently is the most common error in
//! carbon accounting (e.g. comparing WattTime's marginal MOER with an average intensity).

use jiff::Timestamp;
use std::fmt;

/// Average (all generation in the mix) or marginal (the generator that responds to a change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalKind {
    /// Mean emissions of the electricity consumed or produced in the zone.
    Average,
    /// Emissions of the marginal generator (e.g. WattTime MOER).
    Marginal,
}

/// Which emission factors the intensity was computed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EmissionBasis {
    /// Life-cycle factors: construction, fuel supply and decommissioning included.
    Lifecycle,
    /// Direct (combustion-only, operational) factors.
    Direct,
}

/// The kind of signal a series is: the pair that must match before two series are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal {
    /// Average or marginal.
    pub kind: SignalKind,
    /// Lifecycle or direct.
    pub basis: EmissionBasis,
}

impl Signal {
    /// Average intensity with lifecycle factors: Electricity Maps' default and kite's.
    pub const AVERAGE_LIFECYCLE: Signal = Signal {
        kind: SignalKind::Average,
        basis: EmissionBasis::Lifecycle,
    };
    /// Average intensity with direct factors.
    pub const AVERAGE_DIRECT: Signal = Signal {
        kind: SignalKind::Average,
        basis: EmissionBasis::Direct,
    };
    /// Marginal intensity with direct (combustion) factors, as WattTime's MOER.
    pub const MARGINAL_DIRECT: Signal = Signal {
        kind: SignalKind::Marginal,
        basis: EmissionBasis::Direct,
    };

    /// All signal kinds kite knows, in a stable order.
    pub const ALL: [Signal; 3] = [
        Signal::AVERAGE_LIFECYCLE,
        Signal::AVERAGE_DIRECT,
        Signal::MARGINAL_DIRECT,
    ];

    /// The stable text form: `average-lifecycle`, `average-direct`, `marginal-direct`.
    pub fn as_str(&self) -> &'static str {
        match (self.kind, self.basis) {
            (SignalKind::Average, EmissionBasis::Lifecycle) => "average-lifecycle",
            (SignalKind::Average, EmissionBasis::Direct) => "average-direct",
            (SignalKind::Marginal, EmissionBasis::Lifecycle) => "marginal-lifecycle",
            (SignalKind::Marginal, EmissionBasis::Direct) => "marginal-direct",
        }
    }

    /// Parses the text form; also accepts the short names `average`/`lifecycle` (average-lifecycle),
    /// `direct` (average-direct) and `marginal` (marginal-direct).
    pub fn parse(s: &str) -> Option<Signal> {
        let sig = match s.trim().to_ascii_lowercase().as_str() {
            "average-lifecycle" | "average" | "lifecycle" | "lca" => Signal::AVERAGE_LIFECYCLE,
            "average-direct" | "direct" => Signal::AVERAGE_DIRECT,
            "marginal-direct" | "marginal" | "moer" => Signal::MARGINAL_DIRECT,
            "marginal-lifecycle" => Signal {
                kind: SignalKind::Marginal,
                basis: EmissionBasis::Lifecycle,
            },
            _ => return None,
        };
        Some(sig)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a value was observed, predicted or estimated, and how.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Provenance {
    /// Reported by the source as an observation of what happened.
    Measured,
    /// A prediction issued at `issued_at` (when the source says).
    Forecast {
        /// When the forecast was issued, if known.
        issued_at: Option<Timestamp>,
        /// Which model or provider made it.
        model: String,
    },
    /// A stand-in for a value nobody observed, e.g. a typical-week profile or an annual mean.
    Estimated {
        /// How it was estimated, in words shown to the user, e.g.
        /// `typical-week profile, carboncast-lifecycle, 2021`.
        method: String,
    },
}

impl Provenance {
    /// `measured`, `forecast` or `estimated`.
    pub fn label(&self) -> &'static str {
        match self {
            Provenance::Measured => "measured",
            Provenance::Forecast { .. } => "forecast",
            Provenance::Estimated { .. } => "estimated",
        }
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Provenance::Measured => f.write_str("measured"),
            Provenance::Forecast {
                issued_at: Some(t),
                model,
            } => write!(f, "forecast ({model}, issued {t})"),
            Provenance::Forecast {
                issued_at: None,
                model,
            } => write!(f, "forecast ({model})"),
            Provenance::Estimated { method } => write!(f, "estimated ({method})"),
        }
    }
}

/// Everything a reader needs to judge an intensity value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignalMeta {
    /// Average/marginal and lifecycle/direct.
    pub signal: Signal,
    /// The data source, e.g. `electricity_maps`, `watttime`, `uk_carbon_intensity`,
    /// `carboncast-lifecycle (embedded)`, or the `--source` label of an import.
    pub source: String,
    /// When kite fetched or imported the data; `None` for data built into the binary.
    pub fetched_at: Option<Timestamp>,
    /// Measured, forecast or estimated.
    pub provenance: Provenance,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_text_round_trips() {
        for s in Signal::ALL {
            assert_eq!(Signal::parse(s.as_str()), Some(s));
        }
        assert_eq!(Signal::parse("MARGINAL"), Some(Signal::MARGINAL_DIRECT));
        assert_eq!(Signal::parse("avg"), None);
    }

    #[test]
    fn provenance_reads_like_a_label() {
        let p = Provenance::Estimated {
            method: "typical-week profile, carboncast-lifecycle, 2021".into(),
        };
        assert_eq!(
            p.to_string(),
            "estimated (typical-week profile, carboncast-lifecycle, 2021)"
        );
        assert_eq!(p.label(), "estimated");
    }
}
