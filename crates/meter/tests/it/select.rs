//! Meter selection: parsing the choice, `auto`'s fallbacks and their diagnostics, and errors for
//! explicit choices that cannot work here.

use crate::support::{FakePowercap, FakeProc};
use kite_meter::{MeterChoice, MeterEnv, MeterError, select};
use std::path::PathBuf;

fn env(powercap: &FakePowercap, proc: &FakeProc) -> MeterEnv {
    MeterEnv {
        sysfs_root: powercap.root().to_path_buf(),
        proc_root: proc.root(),
        nvml: false,
    }
}

#[test]
fn choices_parse_and_unknown_ones_name_the_value_and_the_options() {
    for (text, choice) in [
        ("auto", MeterChoice::Auto),
        ("rapl", MeterChoice::Rapl),
        ("nvml", MeterChoice::Nvml),
        (" Model ", MeterChoice::Model),
    ] {
        assert_eq!(text.parse::<MeterChoice>().unwrap(), choice);
        assert_eq!(choice.to_string().parse::<MeterChoice>().unwrap(), choice);
    }
    let e = "gpu".parse::<MeterChoice>().unwrap_err();
    assert!(matches!(&e, MeterError::UnknownMeter { value } if value == "gpu"));
    assert_eq!(
        e.to_string(),
        "unknown meter \"gpu\": expected one of auto, rapl, nvml, model"
    );
}

#[test]
fn auto_prefers_rapl_and_models_what_it_lacks() {
    let proc = FakeProc::new(false);
    let server = FakePowercap::server();
    let s = select(MeterChoice::Auto, &env(&server, &proc)).unwrap();
    assert_eq!(s.names(), vec!["rapl"]);
    assert_eq!(s.diagnostics, vec!["measuring package-0, dram-0 with RAPL"]);

    let no_dram = FakePowercap::new();
    no_dram.zone("intel-rapl:0", "package-0", 0, 1 << 40);
    let s = select(MeterChoice::Auto, &env(&no_dram, &proc)).unwrap();
    assert_eq!(s.names(), vec!["rapl", "model"]);
    assert!(s.diagnostics[1].contains("no DRAM domain"), "{s:?}");

    let none = FakePowercap::new();
    let s = select(MeterChoice::Auto, &env(&none, &proc)).unwrap();
    assert_eq!(s.names(), vec!["model"]);
    assert!(
        s.diagnostics[0]
            .starts_with("RAPL unavailable, CPU and RAM are modelled: no RAPL energy counters"),
        "{s:?}"
    );
    assert!(
        s.diagnostics.iter().any(|d| d.contains("\"AMD EPYC\"")),
        "{s:?}"
    );
}

#[test]
fn auto_with_nvml_reports_the_gpu_or_why_there_is_none() {
    let proc = FakeProc::new(false);
    let none = FakePowercap::new();
    let mut e = env(&none, &proc);
    e.nvml = true;
    let s = select(MeterChoice::Auto, &e).unwrap();
    let gpu = s.names().contains(&"nvml");
    let explained = s
        .diagnostics
        .iter()
        .any(|d| d.starts_with("no GPU metering: "));
    assert!(gpu != explained, "{s:?}");
}

#[test]
fn explicit_choices_that_cannot_work_are_errors() {
    let proc = FakeProc::new(false);
    let none = FakePowercap::new();
    match select(MeterChoice::Rapl, &env(&none, &proc)) {
        Err(e @ MeterError::RaplNotFound { .. }) => {
            assert!(e.to_string().contains(&none.root().display().to_string()));
        }
        other => panic!("expected RaplNotFound, got {other:?}"),
    }
    match select(MeterChoice::Nvml, &env(&none, &proc)) {
        Ok(s) => assert_eq!(s.names(), vec!["nvml"]),
        Err(MeterError::NvmlUnavailable { .. } | MeterError::NvmlNoDevice { .. }) => {}
        Err(e @ MeterError::NvmlNotCompiled) => {
            assert!(!MeterEnv::host().nvml, "{e}");
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
    let s = select(MeterChoice::Model, &env(&none, &proc)).unwrap();
    assert_eq!(s.names(), vec!["model"]);
    assert!(
        s.diagnostics
            .iter()
            .any(|d| d.starts_with("CPU model: CCF")),
        "{s:?}"
    );

    let server = FakePowercap::server();
    let s = select(MeterChoice::Rapl, &env(&server, &proc)).unwrap();
    assert_eq!(s.names(), vec!["rapl"]);
}

#[test]
fn the_host_environment_is_documented() {
    let host = MeterEnv::host();
    assert_eq!(host.sysfs_root, PathBuf::from("/sys/class/powercap"));
    assert_eq!(host.proc_root, PathBuf::from("/proc"));
    assert_eq!(host.nvml, cfg!(feature = "nvml"));
}
