//! The power model: CPU identification and curves, the memory rule, warnings for unknown CPUs,
//! and the model fed by the real process sampler.

use crate::support::{FakeProc, activity, assert_close};
use kite_meter::{
    Component, CpuCurve, CpuPowerModel, MEMORY_WATTS_PER_GIB, Meter, Method, ModelMeter,
    ProcessSampler,
};
use std::time::Duration;

fn cpu_reading(meter: &mut ModelMeter, a: &kite_meter::Activity) -> kite_meter::Reading {
    let readings = meter.sample(a).unwrap();
    readings
        .into_iter()
        .find(|r| r.component == Component::Cpu)
        .unwrap()
}

#[test]
fn this_machines_bare_amd_epyc_gets_the_epyc_family_default_with_a_warning() {
    let fake = FakeProc::new(false); // cpuinfo says `model name : AMD EPYC`
    let mut meter = ModelMeter::detect(&fake.root());
    let warning = meter.warnings().join("\n");
    assert!(warning.contains("\"AMD EPYC\""), "{warning}");
    assert!(warning.contains("no model number"), "{warning}");
    assert!(warning.contains("EPYC 1st–4th Gen"), "{warning}");
    let cpu = meter.cpu_model().unwrap().clone();
    let CpuCurve::PerLogicalCpu {
        min_watts,
        max_watts,
    } = cpu.curve
    else {
        panic!("{cpu:?}")
    };
    // Mean of CCF's EPYC 1st–4th Gen rows.
    assert!((min_watts - 0.629).abs() < 0.001, "{min_watts}");
    assert!((max_watts - 2.134).abs() < 0.001, "{max_watts}");

    // 4 CPUs, 10 s, half utilised, the tree used a quarter of the busy time.
    let a = activity(10.0, 4, 20.0, 5.0);
    let r = cpu_reading(&mut meter, &a);
    let watts = 4.0 * (min_watts + 0.5 * (max_watts - min_watts));
    assert_close(r.device_energy.0, watts * 10.0);
    assert_close(r.attributed.0, watts * 10.0 * 0.25);
    assert_eq!(r.device, "CPU (AMD EPYC, 4 logical CPUs)");
    match &r.method {
        Method::Modelled { model } => {
            assert!(model.contains("default for unknown CPU"), "{model}");
            assert!(model.contains("0.63") && model.contains("2.13"), "{model}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_known_microarchitecture_uses_ccf_per_logical_cpu() {
    let cpu = CpuPowerModel::for_cpu("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", 2);
    assert!(cpu.warning.is_none());
    assert!(
        cpu.description.contains("Cascade Lake"),
        "{}",
        cpu.description
    );
    let CpuCurve::PerLogicalCpu {
        min_watts,
        max_watts,
    } = cpu.curve
    else {
        panic!("{cpu:?}")
    };
    assert_close(min_watts, 0.6902978319127387);
    assert_close(max_watts, 4.063193520161689);
    let mut meter = ModelMeter::for_cpu(cpu);
    assert!(meter.warnings().is_empty());
    // 80 threads fully busy for 1 s, all of it the tree's.
    let r = cpu_reading(&mut meter, &activity(1.0, 80, 80.0, 80.0));
    assert_close(r.device_energy.0, 80.0 * max_watts);
    assert_close(r.attributed.0, 80.0 * max_watts);

    let epyc = CpuPowerModel::for_cpu("AMD EPYC 7B13", 1);
    assert!(
        epyc.description.contains("EPYC 3rd Gen"),
        "{}",
        epyc.description
    );
}

#[test]
fn a_model_known_only_by_tdp_uses_the_tdp_curve() {
    let cpu = CpuPowerModel::for_cpu("AMD Ryzen 9 7950X 16-Core Processor", 1);
    assert!(cpu.warning.is_none());
    assert_eq!(
        cpu.curve,
        CpuCurve::Tdp {
            tdp_watts: 170.0,
            sockets: 1
        }
    );
    assert!(
        cpu.description.contains("CodeCarbon"),
        "{}",
        cpu.description
    );
    let mut meter = ModelMeter::for_cpu(cpu);
    // Idle machine: 23 % of TDP, and nothing attributed (the tree used no CPU).
    let r = cpu_reading(&mut meter, &activity(2.0, 32, 0.0, 0.0));
    assert_close(r.device_energy.0, 0.23 * 170.0 * 2.0);
    assert_eq!(r.attributed.0, 0.0);
    // Fully busy: TDP.
    let r = cpu_reading(&mut meter, &activity(2.0, 32, 64.0, 16.0));
    assert_close(r.device_energy.0, 340.0);
    assert_close(r.attributed.0, 85.0);
}

#[test]
fn an_unknown_cpu_gets_the_all_x86_default_and_a_warning_naming_it() {
    let cpu = CpuPowerModel::for_cpu("Acme SuperChip 9000", 1);
    let warning = cpu.warning.clone().expect(&cpu.description);
    assert!(warning.contains("\"Acme SuperChip 9000\""), "{warning}");
    assert!(
        warning.contains("is not in kite's CPU power tables"),
        "{warning}"
    );
    assert!(warning.contains("all x86"), "{warning}");
    let xeon = CpuPowerModel::for_cpu("Intel(R) Xeon(R) CPU @ 2.20GHz", 1);
    assert!(xeon.warning.unwrap().contains("Intel Xeon server"));
}

#[test]
fn missing_cpuinfo_still_gives_a_model_and_says_why() {
    let dir = tempfile::TempDir::new().unwrap();
    let meter = ModelMeter::detect(dir.path());
    assert!(
        meter.warnings()[0].contains("cpuinfo"),
        "{:?}",
        meter.warnings()
    );
    assert!(meter.cpu_model().is_some());

    let mut fake = FakeProc::new(false);
    fake.cpuinfo_model = None;
    fake.sync();
    let meter = ModelMeter::detect(&fake.root());
    assert!(
        meter.warnings()[0].contains("model name"),
        "{:?}",
        meter.warnings()
    );
}

#[test]
fn memory_is_watts_per_gib_in_use_shared_by_resident_size() {
    let mut meter = ModelMeter::ram_only();
    assert!(meter.cpu_model().is_none());
    // 8 GiB in use, the tree's RSS is 2 GiB, 10 s.
    let readings = meter.sample(&activity(10.0, 4, 1.0, 1.0)).unwrap();
    assert_eq!(readings.len(), 1);
    let ram = &readings[0];
    assert_eq!(ram.component, Component::Ram);
    assert_eq!(ram.device, "RAM (16.0 GiB)");
    assert_close(ram.device_energy.0, 8.0 * MEMORY_WATTS_PER_GIB * 10.0);
    assert_close(ram.attributed.0, 2.0 * MEMORY_WATTS_PER_GIB * 10.0);
    match &ram.method {
        Method::Modelled { model } => assert!(model.contains("0.392 W per GiB"), "{model}"),
        other => panic!("{other:?}"),
    }
    // Shared pages can make the tree's RSS exceed the memory in use: the share stops at 1.
    let mut a = activity(1.0, 4, 1.0, 1.0);
    a.tree_rss_bytes = 20 << 30;
    let ram = &meter.sample(&a).unwrap()[0];
    assert_close(ram.attributed.0, ram.device_energy.0);
}

#[test]
fn the_real_sampler_feeds_the_model() {
    let mut sampler = ProcessSampler::new("/proc".into(), std::process::id()).unwrap();
    let mut meter = ModelMeter::detect(std::path::Path::new("/proc"));
    meter.start().unwrap();
    let spin_until = std::time::Instant::now() + Duration::from_millis(300);
    let mut x = 0u64;
    while std::time::Instant::now() < spin_until {
        x = x.wrapping_add(1);
    }
    assert!(x > 0);
    let activity = sampler.sample().unwrap();
    let readings = meter.sample(&activity).unwrap();
    assert_eq!(readings.len(), 2);
    let cpu = &readings[0];
    assert!(cpu.device_energy.0 > 0.0, "{readings:?}");
    assert!(cpu.attributed.0 > 0.0, "{activity:?} {readings:?}");
    assert!(cpu.attributed.0 <= cpu.device_energy.0);
}
