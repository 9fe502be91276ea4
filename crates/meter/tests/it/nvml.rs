//! NVML: discovery on a machine without the driver is a clear error, never a panic; with
//! `KITE_TEST_NVML=1` on a GPU machine, the NVML meter runs the conformance suite on real
//! hardware with the real process sampler.

use crate::conformance::check_meter;
use kite_meter::{Meter, MeterError, NVML_LIBRARY, NvmlMeter, ProcessSampler};
use std::time::Duration;

#[test]
fn a_missing_library_is_unavailable_with_the_fix() {
    match NvmlMeter::discover_with_library("libkite-test-no-such-nvml.so.1") {
        Err(e @ MeterError::NvmlUnavailable { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains("libkite-test-no-such-nvml.so.1"),
                "{message}"
            );
            assert!(message.contains("NVIDIA driver"), "{message}");
        }
        other => panic!("expected NvmlUnavailable, got {other:?}"),
    }
}

#[test]
fn discovery_on_this_machine_answers_without_panicking() {
    match NvmlMeter::discover() {
        Ok(meter) => assert!(!meter.devices().is_empty()),
        Err(MeterError::NvmlUnavailable { library, .. } | MeterError::NvmlNoDevice { library }) => {
            assert_eq!(library, NVML_LIBRARY);
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

/// Opt-in (a GPU machine): `KITE_TEST_NVML=1 cargo test -p kite-meter nvml`.
#[test]
fn conformance_on_a_real_gpu_when_asked() {
    if std::env::var_os("KITE_TEST_NVML").is_none() {
        return;
    }
    let mut meter = NvmlMeter::discover().unwrap();
    let mut sampler = ProcessSampler::new("/proc".into(), std::process::id()).unwrap();
    let activities: Vec<_> = (0..3)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(500));
            sampler.sample().unwrap()
        })
        .collect();
    check_meter(&mut meter, "nvml", &activities, |_| {
        std::thread::sleep(Duration::from_millis(500))
    });
    let readings = meter.sample(&activities[0]).unwrap();
    assert_eq!(readings.len(), meter.devices().len());
}
