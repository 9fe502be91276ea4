//! Embodied carbon: the SCI `M` term.
//!
//! `M = TE × (TiR / EL) × (RR / TR)` (Green Software Foundation, Software Carbon Intensity
//! specification, ISO/IEC 21031:2024): the total embodied emissions of the hardware `TE`, times
//! the time reserved `TiR` over the expected lifetime `EL`, times the share of the machine's
//! resources reserved `RR / TR`. A [`HardwareProfile`] holds `TE`, `EL` and the rule for the share;
//! the run supplies `TiR` (its duration) and, for [`ShareRule::CpuTime`], the CPU time used.
//!
//! Defaults follow the Cloud Carbon Footprint (CCF) embodied-emissions method, whose
//! coefficients are copied with their source into `data/hardware/embodied-ccf.csv` (Apache-2.0,
//! from `cloud-carbon-footprint/ccf-coefficients`, itself based on the Dell PowerEdge R740 life-cycle
//! assessment): a 1000 kgCO2e base server (one CPU socket, 16 GB of memory, no storage), plus
//! 100 kg per extra CPU socket, 533/384 kg per GB of memory above 16 GB, and 150 kg per GPU,
//! over a 4-year (35,040 h) life. The consistency test below keeps the constants and the file
//! in step.

use crate::factors::Factor;
use kite_core::GramsCo2e;

/// CCF base server: one CPU socket, 16 GB memory, no storage, kgCO2e.
pub const CCF_BASE_SERVER_KG: f64 = 1000.0;
/// CCF: each CPU socket beyond the first, kgCO2e.
pub const CCF_EXTRA_CPU_KG: f64 = 100.0;
/// CCF: each GB of memory above the base 16 GB, kgCO2e (533 kg per 384 GB).
pub const CCF_MEMORY_KG_PER_GB: f64 = 533.0 / 384.0;
/// CCF: memory included in the base server, GB.
pub const CCF_BASE_MEMORY_GB: f64 = 16.0;
/// CCF: each GPU, kgCO2e.
pub const CCF_GPU_KG: f64 = 150.0;
/// CCF: expected server lifetime, hours (4 years of 8760 h).
pub const CCF_LIFETIME_HOURS: f64 = 35_040.0;

/// Where the CCF defaults come from, as cited in records.
pub const CCF_SOURCE: &str = "Cloud Carbon Footprint embodied-emissions coefficients \
                          (ccf-coefficients, Apache-2.0; Dell PowerEdge R740 LCA), \
                          data/hardware/embodied-ccf.csv";

/// How much of the machine a run is charged for (SCI `RR / TR`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShareRule {
    /// The whole machine was reserved for the run (a dedicated node, a workstation): share 1.
    WholeMachine,
    /// A fixed share in `(0, 1]`, e.g. 8 of 64 vCPUs = 0.125 on a shared host.
    Fixed(f64),
    /// The measured process tree's share of the machine's CPU capacity over the run
    /// (tree CPU seconds / (logical CPUs × seconds)): a usage-based allocation for shared hosts.
    CpuTime,
}

impl ShareRule {
    /// `whole-machine`, `fixed:0.125` or `cpu-time`: the stored text.
    pub fn to_text(self) -> String {
        match self {
            ShareRule::WholeMachine => "whole-machine".to_string(),
            ShareRule::Fixed(x) => format!("fixed:{x}"),
            ShareRule::CpuTime => "cpu-time".to_string(),
        }
    }

    /// Parses [`ShareRule::to_text`]'s output.
    pub fn parse(text: &str) -> Option<ShareRule> {
        match text {
            "whole-machine" => Some(ShareRule::WholeMachine),
            "cpu-time" => Some(ShareRule::CpuTime),
            _ => text
                .strip_prefix("fixed:")
                .and_then(|x| x.parse().ok())
                .map(ShareRule::Fixed),
        }
    }
}

/// The hardware a run uses, for its embodied carbon.
#[derive(Debug, Clone, PartialEq)]
pub struct HardwareProfile {
    /// Total embodied emissions of the machine (SCI `TE`), kgCO2e.
    pub embodied_kg: Factor,
    /// Expected lifetime (SCI `EL`), hours.
    pub lifetime_hours: Factor,
    /// Which share of the machine the run is charged for.
    pub share: ShareRule,
    /// What the profile describes, in words (shown with the result).
    pub description: String,
}

impl HardwareProfile {
    /// The CCF server rule for a machine with `gpus` (their names) and `ram_gb` of memory,
    /// charged as a whole machine. `cpu_model` and `cpus` (logical CPUs) are only described:
    /// the number of sockets cannot be told from them, so one socket is assumed. The rule is
    /// for servers; a laptop or desktop is over-estimated (CCF's base server weighs more than a
    /// laptop's whole life cycle).
    pub fn default_for(
        cpu_model: &str,
        gpus: &[String],
        cpus: usize,
        ram_gb: f64,
    ) -> HardwareProfile {
        let ram_gb = if ram_gb.is_finite() {
            ram_gb.max(0.0)
        } else {
            0.0
        };
        let memory_kg = (ram_gb - CCF_BASE_MEMORY_GB).max(0.0) * CCF_MEMORY_KG_PER_GB;
        let gpu_kg = CCF_GPU_KG * gpus.len() as f64;
        let total = CCF_BASE_SERVER_KG + memory_kg + gpu_kg;
        let cpu = if cpu_model.trim().is_empty() {
            "unknown CPU".to_string()
        } else {
            cpu_model.trim().to_string()
        };
        let mut description =
            format!("{cpu}, {cpus} logical CPUs (1 socket assumed), {ram_gb:.0} GB memory");
        if !gpus.is_empty() {
            description.push_str(&format!(", {} GPU(s): {}", gpus.len(), gpus.join(", ")));
        }
        description.push_str(&format!(
            "; CCF server rule: {CCF_BASE_SERVER_KG:.0} kg base + {memory_kg:.1} kg memory + \
             {gpu_kg:.0} kg GPUs = {total:.1} kgCO2e over {:.0} years",
            CCF_LIFETIME_HOURS / 8760.0
        ));
        HardwareProfile {
            embodied_kg: Factor::new(total, CCF_SOURCE),
            lifetime_hours: Factor::new(CCF_LIFETIME_HOURS, CCF_SOURCE),
            share: ShareRule::WholeMachine,
            description,
        }
    }

    /// SCI `M` for `reserved_secs` of use at `share` of the machine:
    /// `TE × (TiR / EL) × share`, in grams.
    pub fn embodied(&self, reserved_secs: f64, share: f64) -> GramsCo2e {
        if self.lifetime_hours.value <= 0.0 {
            return GramsCo2e(0.0);
        }
        let fraction_of_life = (reserved_secs / 3600.0) / self.lifetime_hours.value;
        GramsCo2e(self.embodied_kg.value * 1000.0 * fraction_of_life * share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sci_worked_example() {
        // 1000 kg, 4-year life, 1 h reserved, whole machine: 1e6 g / 35,040 h = 28.5 g.
        let p = HardwareProfile::default_for("", &[], 8, 16.0);
        assert_eq!(p.embodied_kg.value, 1000.0);
        let m = p.embodied(3600.0, 1.0);
        assert!((m.0 - 28.539).abs() < 1e-3, "{m}");
        assert!((p.embodied(3600.0, 0.25).0 - m.0 / 4.0).abs() < 1e-9);
    }

    #[test]
    fn memory_and_gpus_add_to_the_base_server() {
        let gpus = vec!["NVIDIA A100".to_string(); 8];
        // AWS p4d.24xlarge in ccf-coefficients: 1152 GB memory (1576.79 kg), 8 GPUs (1200 kg).
        let p = HardwareProfile::default_for("Intel Xeon Platinum 8275CL", &gpus, 96, 1152.0);
        assert!((p.embodied_kg.value - (1000.0 + 1576.79 + 1200.0)).abs() < 0.01);
        assert!(p.description.contains("8 GPU(s)"));
    }

    #[test]
    fn share_rules_round_trip_as_text() {
        for r in [
            ShareRule::WholeMachine,
            ShareRule::Fixed(0.125),
            ShareRule::CpuTime,
        ] {
            assert_eq!(ShareRule::parse(&r.to_text()), Some(r));
        }
        assert_eq!(ShareRule::parse("half"), None);
    }

    #[test]
    fn the_constants_match_the_copied_table() {
        let table = include_str!("../../../data/hardware/embodied-ccf.csv");
        let mut seen = 0;
        for line in table.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let mut cols = line.split(',');
            let name = cols.next().unwrap();
            let value: f64 = cols.next().unwrap().parse().unwrap();
            let expected = match name {
                "base_server" => CCF_BASE_SERVER_KG,
                "base_server_memory_gb" => CCF_BASE_MEMORY_GB,
                "additional_cpu" => CCF_EXTRA_CPU_KG,
                "memory_per_gb" => CCF_MEMORY_KG_PER_GB,
                "gpu" => CCF_GPU_KG,
                "lifetime_hours" => CCF_LIFETIME_HOURS,
                _ => continue,
            };
            assert!(
                (value - expected).abs() < 1e-3,
                "{name}: {value} vs {expected}"
            );
            seen += 1;
        }
        assert_eq!(seen, 6);
    }
}
