//! RAPL on fake powercap trees: discovery of packages and DRAM, deltas, wrap-around, attribution
//! and the errors (missing tree, unreadable and garbage counters).

use crate::support::{FakePowercap, activity, assert_close};
use kite_meter::{Component, Meter, MeterError, Method, RaplMeter};
use std::fs;

#[test]
fn package_and_dram_deltas_are_attributed_by_cpu_share() {
    let fake = FakePowercap::server();
    let mut rapl = RaplMeter::discover(fake.root()).unwrap();
    assert_eq!(
        rapl.devices(),
        vec![(Component::Cpu, "package-0"), (Component::Ram, "dram-0")]
    );
    assert!(rapl.has_dram());
    rapl.start().unwrap();
    fake.set_energy("intel-rapl:0", 1_000_000 + 30_000_000); // 30 J
    fake.set_energy("intel-rapl:0:0", 9_999_999); // core: part of the package, not reported
    fake.set_energy("intel-rapl:0:1", 200_000 + 5_000_000); // 5 J

    // The tree used a quarter of the busy CPU time.
    let readings = rapl.sample(&activity(1.0, 4, 2.0, 0.5)).unwrap();
    assert_eq!(readings.len(), 2);
    let (package, dram) = (&readings[0], &readings[1]);
    assert_eq!(
        (package.component, package.device.as_str()),
        (Component::Cpu, "package-0")
    );
    assert_close(package.device_energy.0, 30.0);
    assert_close(package.attributed.0, 7.5);
    assert_eq!(
        (dram.component, dram.device.as_str()),
        (Component::Ram, "dram-0")
    );
    assert_close(dram.device_energy.0, 5.0);
    assert_close(dram.attributed.0, 1.25);
    match &package.method {
        Method::Measured { sensor, detail } => {
            assert_eq!(*sensor, "rapl");
            assert!(detail.contains("energy_uj") && detail.contains("CPU-time share"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_wrapped_counter_counts_from_previous_to_max_plus_one_then_from_zero() {
    let fake = FakePowercap::new();
    fake.zone("intel-rapl:0", "package-0", 999_000, 1_000_000);
    let mut rapl = RaplMeter::discover(fake.root()).unwrap();
    fake.set_energy("intel-rapl:0", 500);
    let readings = rapl.sample(&activity(1.0, 4, 4.0, 4.0)).unwrap();
    // (1_000_000 + 1 − 999_000) + 500 = 1501 µJ.
    assert_close(readings[0].device_energy.0, 1501e-6);
    assert_close(readings[0].attributed.0, 1501e-6);
    // And counts on normally after the wrap.
    fake.set_energy("intel-rapl:0", 2500);
    let readings = rapl.sample(&activity(1.0, 4, 4.0, 4.0)).unwrap();
    assert_close(readings[0].device_energy.0, 2000e-6);
}

#[test]
fn a_package_without_dram_reports_cpu_only() {
    let fake = FakePowercap::new();
    fake.zone("intel-rapl:0", "package-0", 0, 262_143_328_850);
    fake.zone("intel-rapl:0:0", "core", 0, 262_143_328_850);
    let mut rapl = RaplMeter::discover(fake.root()).unwrap();
    assert!(!rapl.has_dram());
    fake.set_energy("intel-rapl:0", 10_000_000);
    let readings = rapl.sample(&activity(1.0, 4, 1.0, 1.0)).unwrap();
    assert_eq!(readings.len(), 1);
    assert_eq!(readings[0].component, Component::Cpu);
}

#[test]
fn two_packages_with_dram_and_skipped_zones() {
    let fake = FakePowercap::new();
    let range = 262_143_328_850;
    fake.zone("intel-rapl:0", "package-0", 0, range);
    fake.zone("intel-rapl:0:0", "dram", 0, range);
    fake.zone("intel-rapl:1", "package-1", 0, range);
    fake.zone("intel-rapl:1:0", "dram", 0, range);
    fake.zone("intel-rapl:2", "psys", 0, range); // contains the others: skipped
    fake.zone("intel-rapl-mmio:0", "package-0", 0, range); // second view of package 0
    fs::create_dir_all(fake.root().join("intel-rapl")).unwrap(); // the control type directory
    let mut rapl = RaplMeter::discover(fake.root()).unwrap();
    assert_eq!(
        rapl.devices(),
        vec![
            (Component::Cpu, "package-0"),
            (Component::Ram, "dram-0"),
            (Component::Cpu, "package-1"),
            (Component::Ram, "dram-1"),
        ]
    );
    for (zone, uj) in [
        ("intel-rapl:0", 1_000_000),
        ("intel-rapl:0:0", 2_000_000),
        ("intel-rapl:1", 3_000_000),
        ("intel-rapl:1:0", 4_000_000),
        ("intel-rapl:2", 99_000_000),
    ] {
        fake.set_energy(zone, uj);
    }
    let readings = rapl.sample(&activity(1.0, 8, 8.0, 2.0)).unwrap();
    let joules: Vec<f64> = readings.iter().map(|r| r.device_energy.0).collect();
    assert_eq!(joules, vec![1.0, 2.0, 3.0, 4.0]);
    let total: f64 = readings.iter().map(|r| r.attributed.0).sum();
    assert_close(total, 2.5);
}

#[test]
fn sub_zones_nested_in_the_package_directory_are_found() {
    let fake = FakePowercap::new();
    fake.zone("intel-rapl:0", "package-0", 0, 1 << 40);
    fake.zone("intel-rapl:0/intel-rapl:0:0", "dram", 0, 1 << 40);
    let rapl = RaplMeter::discover(fake.root()).unwrap();
    assert!(rapl.has_dram());
}

#[test]
fn no_powercap_tree_says_what_was_looked_for() {
    let fake = FakePowercap::new();
    for root in [fake.root().to_path_buf(), fake.root().join("missing")] {
        match RaplMeter::discover(&root) {
            Err(e @ MeterError::RaplNotFound { .. }) => {
                let message = e.to_string();
                assert!(message.contains(&root.display().to_string()), "{message}");
                assert!(message.contains("intel-rapl:N/energy_uj"), "{message}");
                assert!(message.contains("--meter model"), "{message}");
            }
            other => panic!("expected RaplNotFound, got {other:?}"),
        }
    }
    // Only psys: no package to meter.
    fake.zone("intel-rapl:0", "psys", 0, 1000);
    assert!(matches!(
        RaplMeter::discover(fake.root()),
        Err(MeterError::RaplNotFound { .. })
    ));
}

/// `energy_uj` as a directory fails with `EISDIR` even for root, so this exercises the read
/// error path on any machine (the `EACCES` → permission mapping is a unit test in `rapl.rs`,
/// because root reads a mode-000 file anyway).
#[test]
fn an_unreadable_counter_is_an_error_naming_the_file() {
    let fake = FakePowercap::server();
    let counter = fake.root().join("intel-rapl:0:1/energy_uj");
    fs::remove_file(&counter).unwrap();
    fs::create_dir(&counter).unwrap();
    match RaplMeter::discover(fake.root()) {
        Err(e @ MeterError::Read { .. }) => {
            assert!(e.to_string().contains("intel-rapl:0:1/energy_uj"), "{e}");
        }
        other => panic!("expected a read error, got {other:?}"),
    }
}

#[test]
fn garbage_is_an_error_and_loses_no_energy() {
    let fake = FakePowercap::server();
    fs::write(fake.root().join("intel-rapl:0/energy_uj"), "12abc\n").unwrap();
    match RaplMeter::discover(fake.root()) {
        Err(e @ MeterError::Parse { .. }) => {
            let message = e.to_string();
            assert!(message.contains("intel-rapl:0/energy_uj"), "{message}");
            assert!(message.contains("12abc"), "{message}");
        }
        other => panic!("expected a parse error, got {other:?}"),
    }

    let fake = FakePowercap::server();
    let mut rapl = RaplMeter::discover(fake.root()).unwrap();
    fake.set_energy("intel-rapl:0", 1_000_000 + 4_000_000);
    fs::write(fake.root().join("intel-rapl:0:1/energy_uj"), "").unwrap();
    assert!(matches!(
        rapl.sample(&activity(1.0, 4, 1.0, 1.0)),
        Err(MeterError::Parse { .. })
    ));
    // The failed sample updated nothing: the next one covers both intervals.
    fake.set_energy("intel-rapl:0", 1_000_000 + 6_000_000);
    fake.set_energy("intel-rapl:0:1", 200_000 + 1_000_000);
    let readings = rapl.sample(&activity(2.0, 4, 1.0, 1.0)).unwrap();
    assert_close(readings[0].device_energy.0, 6.0);
    assert_close(readings[1].device_energy.0, 1.0);

    fs::write(fake.root().join("intel-rapl:0/max_energy_range_uj"), "0\n").unwrap();
    assert!(matches!(
        RaplMeter::discover(fake.root()),
        Err(MeterError::Parse { .. })
    ));
}
