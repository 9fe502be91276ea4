//! Physical quantities as types. Every conversion between them is a named function or an
//! operator here, so a unit mistake is a type error rather than a wrong number.

use std::fmt;
use std::ops::{Add, AddAssign, Div, Mul, Sub};

/// One pound per megawatt-hour expressed in grams per kilowatt-hour
/// (453.59237 g per lb / 1000 kWh per MWh). WattTime publishes MOER in lbs/MWh.
pub const LBS_PER_MWH_TO_G_PER_KWH: f64 = 0.453_592_37;

macro_rules! quantity {
    ($(#[$doc:meta])* $name:ident, $unit:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
        pub struct $name(pub f64);

        impl $name {
            /// The raw number in this type's unit.
            pub fn value(self) -> f64 {
                self.0
            }
        }

        impl Add for $name {
            type Output = Self;
            fn add(self, rhs: Self) -> Self {
                Self(self.0 + rhs.0)
            }
        }

        impl AddAssign for $name {
            fn add_assign(&mut self, rhs: Self) {
                self.0 += rhs.0;
            }
        }

        impl Sub for $name {
            type Output = Self;
            fn sub(self, rhs: Self) -> Self {
                Self(self.0 - rhs.0)
            }
        }

        impl Mul<f64> for $name {
            type Output = Self;
            fn mul(self, rhs: f64) -> Self {
                Self(self.0 * rhs)
            }
        }

        impl Div<f64> for $name {
            type Output = Self;
            fn div(self, rhs: f64) -> Self {
                Self(self.0 / rhs)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match f.precision() {
                    Some(p) => write!(f, "{:.*} {}", p, self.0, $unit),
                    None => write!(f, "{} {}", self.0, $unit),
                }
            }
        }
    };
}

quantity!(
    /// Energy in joules.
    Joules, "J"
);
quantity!(
    /// Energy in kilowatt-hours.
    KilowattHours, "kWh"
);
quantity!(
    /// Power in watts.
    Watts, "W"
);
quantity!(
    /// Carbon intensity of electricity: grams of CO2-equivalent per kilowatt-hour.
    GramsCo2PerKwh, "gCO2e/kWh"
);
quantity!(
    /// A mass of CO2-equivalent in grams.
    GramsCo2e, "gCO2e"
);

const JOULES_PER_KWH: f64 = 3_600_000.0;

impl From<Joules> for KilowattHours {
    fn from(j: Joules) -> Self {
        KilowattHours(j.0 / JOULES_PER_KWH)
    }
}

impl From<KilowattHours> for Joules {
    fn from(e: KilowattHours) -> Self {
        Joules(e.0 * JOULES_PER_KWH)
    }
}

impl Watts {
    /// Energy used at this power for `seconds`.
    pub fn over_seconds(self, seconds: f64) -> Joules {
        Joules(self.0 * seconds)
    }
}

impl GramsCo2PerKwh {
    /// Converts a rate in pounds per megawatt-hour (WattTime's MOER unit).
    pub fn from_lbs_per_mwh(lbs_per_mwh: f64) -> Self {
        GramsCo2PerKwh(lbs_per_mwh * LBS_PER_MWH_TO_G_PER_KWH)
    }
}

impl Mul<GramsCo2PerKwh> for KilowattHours {
    type Output = GramsCo2e;
    fn mul(self, rhs: GramsCo2PerKwh) -> GramsCo2e {
        GramsCo2e(self.0 * rhs.0)
    }
}

impl Mul<KilowattHours> for GramsCo2PerKwh {
    type Output = GramsCo2e;
    fn mul(self, rhs: KilowattHours) -> GramsCo2e {
        GramsCo2e(self.0 * rhs.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_times_intensity_is_mass() {
        let e = KilowattHours::from(Joules(7_200_000.0));
        assert_eq!(e, KilowattHours(2.0));
        assert_eq!(e * GramsCo2PerKwh(300.0), GramsCo2e(600.0));
        assert_eq!(Watts(100.0).over_seconds(36.0), Joules(3600.0));
    }

    #[test]
    fn watttime_units_convert() {
        // 1000 lbs/MWh is 453.59 g/kWh.
        let g = GramsCo2PerKwh::from_lbs_per_mwh(1000.0);
        assert!((g.0 - 453.592_37).abs() < 1e-9);
    }

    #[test]
    fn display_respects_precision() {
        assert_eq!(format!("{:.1}", GramsCo2PerKwh(123.456)), "123.5 gCO2e/kWh");
    }
}
