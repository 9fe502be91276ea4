//! The RFC 8785 encoder: the RFC's own examples (§3.2.2.3 numbers, §3.2.3 sorting, Appendix
//! example), and equality with the `serde_json_canonicalizer` crate on random values.

#![allow(clippy::unwrap_used)]

use kite_ledger::canonical::{is_canonical, parse_strict, to_jcs};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

fn jcs(text: &str) -> String {
    String::from_utf8(to_jcs(&serde_json::from_str(text).unwrap())).unwrap()
}

#[test]
fn rfc_8785_sorting_example() {
    let input = r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#;
    let want = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}";
    assert_eq!(jcs(input), want);
}

#[test]
fn rfc_8785_main_example() {
    let input = r#"{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    let want = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
    assert_eq!(jcs(input), want);
}

#[test]
fn ecmascript_number_forms() {
    for (input, want) in [
        ("-0.0", "0"),
        ("5e-324", "5e-324"),
        ("-5e-324", "-5e-324"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("9007199254740992", "9007199254740992"),
        ("295147905179352830000", "295147905179352830000"),
        ("1e21", "1e+21"),
        ("1e20", "100000000000000000000"),
        ("0.000001", "0.000001"),
        ("1e-7", "1e-7"),
        ("-1.50", "-1.5"),
        ("100.0", "100"),
    ] {
        assert_eq!(jcs(&format!("[{input}]")), format!("[{want}]"), "{input}");
    }
}

#[test]
fn canonical_form_is_recognised_and_nothing_else() {
    assert!(is_canonical(br#"{"kind":"run","v":1,"x":[1,2.5,"a"]}"#));
    for bad in [
        &br#"{"v":1,"kind":"run"}"#[..],         // unsorted
        br#"{"kind":"run", "v":1}"#,             // whitespace
        br#"{"kind":"run","v":1.0}"#,            // number form
        br#"{"kind":"run","v":1,"s":"\u0041"}"#, // needless escape
        br#"{"kind":"run","v":1} "#,             // trailing space
        br#"{"kind":"run"}"#,                    // no version
        br#"[1]"#,                               // not an object
    ] {
        assert!(!is_canonical(bad), "{}", String::from_utf8_lossy(bad));
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53)..(1i64 << 53)).prop_map(|i| Value::Number(i.into())),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
        "\\PC{0,12}".prop_map(Value::String),
        proptest::collection::vec(any::<char>(), 0..6)
            .prop_map(|c| Value::String(c.into_iter().collect())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((any::<String>(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn kite_encoder_equals_the_serde_json_canonicalizer_crate(v in arb_json()) {
        let ours = to_jcs(&v);
        let reference = serde_json_canonicalizer::to_vec(&v).unwrap();
        prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&reference));
        // And it parses back to the same value (doubles round trip).
        prop_assert_eq!(parse_strict(&ours).unwrap(), serde_json::from_slice::<Value>(&reference).unwrap());
    }
}
