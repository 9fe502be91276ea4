//! The conformance suite every [`Meter`] passes: `start` then `sample` works repeatedly, readings
//! are finite and non-negative, the attributed part never exceeds the device's energy, and the
//! method says measured-by-this-sensor or modelled. Run here against RAPL on fake powercap trees
//! and the model meter; against NVML on a GPU with `KITE_TEST_NVML=1` (`nvml.rs`).

use crate::support::{FakePowercap, FakeProc, activity};
use kite_meter::{Activity, CpuPowerModel, Meter, Method, ModelMeter, RaplMeter};

/// Activities at the edges: idle, partly and fully busy, a tree that appears to use more than the
/// machine (clock skew between counters), a zero-length interval, shared pages exceeding the
/// memory in use, and all zeros.
pub fn edge_activities() -> Vec<Activity> {
    let mut over = activity(1.0, 4, 1.0, 3.0);
    over.tree_rss_bytes = 64 << 30;
    let mut empty_tree = activity(1.0, 4, 2.0, 0.0);
    empty_tree.pids.clear();
    empty_tree.tree_rss_bytes = 0;
    vec![
        activity(1.0, 4, 0.0, 0.0),
        activity(1.0, 4, 2.0, 0.5),
        activity(1.0, 4, 4.0, 4.0),
        over,
        activity(0.0, 4, 0.0, 0.0),
        empty_tree,
        Activity::default(),
    ]
}

/// Runs `meter` through `start` and one `sample` per activity, calling `before_sample(i)` first
/// (to advance fake counters, or to let time pass on real hardware).
#[track_caller]
pub fn check_meter(
    meter: &mut dyn Meter,
    name: &str,
    activities: &[Activity],
    mut before_sample: impl FnMut(usize),
) {
    assert_eq!(meter.name(), name);
    meter.start().unwrap();
    for (i, a) in activities.iter().enumerate() {
        before_sample(i);
        let readings = meter.sample(a).unwrap();
        assert!(!readings.is_empty(), "{name}: no readings for {a:?}");
        for r in &readings {
            let context = format!("{name}, activity {i} {a:?}: {r:?}");
            assert!(!r.device.is_empty(), "{context}");
            assert!(r.device_energy.0.is_finite(), "{context}");
            assert!(r.attributed.0.is_finite(), "{context}");
            assert!(r.device_energy.0 >= 0.0, "{context}");
            assert!(r.attributed.0 >= 0.0, "{context}");
            assert!(
                r.attributed.0 <= r.device_energy.0 * (1.0 + 1e-12),
                "{context}"
            );
            match (&r.method, name) {
                (Method::Measured { sensor, detail }, "rapl" | "nvml") => {
                    assert_eq!(*sensor, name, "{context}");
                    assert!(!detail.is_empty(), "{context}");
                }
                (Method::Modelled { model }, "model") => assert!(!model.is_empty(), "{context}"),
                _ => panic!("wrong method label: {context}"),
            }
        }
    }
    // And again after a restart.
    meter.start().unwrap();
    before_sample(activities.len());
    meter.sample(&activities[0]).unwrap();
}

#[test]
fn rapl_conforms() {
    let fake = FakePowercap::server();
    let mut rapl = RaplMeter::discover(fake.root()).unwrap();
    let zones = ["intel-rapl:0", "intel-rapl:0:1"];
    check_meter(&mut rapl, "rapl", &edge_activities(), |i| {
        for zone in zones {
            fake.set_energy(zone, fake.energy(zone) + 1_000_000 * i as u64);
        }
    });

    // Two packages whose counters wrap during the run.
    let fake = FakePowercap::new();
    fake.zone("intel-rapl:0", "package-0", 900, 1000);
    fake.zone("intel-rapl:1", "package-1", 0, 1000);
    let mut rapl = RaplMeter::discover(fake.root()).unwrap();
    check_meter(&mut rapl, "rapl", &edge_activities(), |i| {
        for zone in ["intel-rapl:0", "intel-rapl:1"] {
            fake.set_energy(zone, (fake.energy(zone) + 37 * i as u64) % 1001);
        }
    });
}

#[test]
fn model_conforms() {
    let fake = FakeProc::new(false);
    let meters = [
        ModelMeter::detect(&fake.root()),
        ModelMeter::detect(std::path::Path::new("/proc")),
        ModelMeter::for_cpu(CpuPowerModel::for_cpu("Intel(R) Xeon(R) Gold 6248", 2)),
        ModelMeter::for_cpu(CpuPowerModel::for_cpu("AMD Ryzen 9 7950X", 1)),
        ModelMeter::ram_only(),
    ];
    for mut meter in meters {
        check_meter(&mut meter, "model", &edge_activities(), |_| {});
    }
}
