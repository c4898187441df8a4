//! Property tests: the spec parsers take any document without panicking, and a valid spec
//! survives a round trip. The spec is the one input that crosses from the launcher into the
//! runner, so it must fail with an error, never a panic, whatever it is given.

use proptest::prelude::*;
use runner::spec::{MatchSpec, RunSpec};
use serde_json::{Map, Value};

/// Any JSON value, a few levels deep, with keys drawn mostly from the spec's own field names
/// so that documents get past the first field and exercise the nested parsers.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("program".to_owned()),
        Just("limits".to_owned()),
        Just("memory".to_owned()),
        Just("wall_time".to_owned()),
        Just("cpu_time".to_owned()),
        Just("output".to_owned()),
        Just("file_size".to_owned()),
        Just("open_files".to_owned()),
        Just("paths".to_owned()),
        Just("ro".to_owned()),
        Just("rw".to_owned()),
        Just("env".to_owned()),
        Just("version".to_owned()),
        Just("referee".to_owned()),
        Just("players".to_owned()),
        Just("id".to_owned()),
        Just("output_dir".to_owned()),
        "[a-z_]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[0-9]{0,25}(KiB|MiB|GiB|ms|s|m|XB|)?".prop_map(Value::String),
        "/[ -~]{0,20}".prop_map(Value::String),
        ".{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_document_is_an_error_or_a_valid_spec(doc in json()) {
        let text = doc.to_string();
        if let Ok(spec) = RunSpec::from_json(&text, "fuzz") {
            prop_assert!(spec.validate().is_ok());
        }
        if let Ok(spec) = MatchSpec::from_json(&text, "fuzz") {
            prop_assert!(spec.validate().is_ok());
        }
    }

    #[test]
    fn any_text_is_refused_without_a_panic(text in ".{0,200}") {
        let _ = RunSpec::from_json(&text, "fuzz");
        let _ = MatchSpec::from_json(&text, "fuzz");
    }

    #[test]
    fn valid_specs_round_trip(
        args in prop::collection::vec("[ -~]{0,12}", 0..4),
        memory in 1u64..(1 << 40),
        wall_ms in 1u64..600_000,
        rw in prop::collection::vec("/[a-z]{1,8}", 0..3),
    ) {
        let mut program = vec!["/usr/bin/python3".to_owned()];
        program.extend(args);
        let doc = serde_json::json!({
            "program": program,
            "limits": {"memory": memory, "wall_time": format!("{wall_ms}ms")},
            "paths": {"rw": rw},
        });
        let spec = RunSpec::from_json(&doc.to_string(), "fuzz").unwrap();
        let again = RunSpec::from_json(&serde_json::to_string(&spec).unwrap(), "fuzz").unwrap();
        prop_assert_eq!(spec, again);
    }
}
