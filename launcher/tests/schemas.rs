//! The launcher's documents against their committed schemas in `schemas/v1` (see
//! `runner::schema`): a serde type that changes without its schema fails here. The documents
//! real runs print are validated against the same files in `cli.rs`, `local.rs` and `kube.rs`.

mod common;

use launcher::batch::BatchFile;
use launcher::outcome::Outcome;
use launcher::request::MatchRequest;
use runner::schema::{check_or_update, render_input, render_output};

#[test]
fn committed_schemas_match_the_types() {
    let failures: Vec<String> = [
        ("match-request.json", render_input::<MatchRequest>()),
        ("batch.json", render_input::<BatchFile>()),
        ("outcome.json", render_output::<Outcome>()),
    ]
    .into_iter()
    .filter_map(|(file, text)| check_or_update(&common::root(), file, &text).err())
    .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_schemas_refuse_what_the_readers_refuse() {
    let request = serde_json::json!({"match_id": "m1", "players": [{"id": "a", "code": "x"}]});
    assert!(common::schema_errors("match-request.json", &request).is_empty());
    for bad in [
        serde_json::json!({"players": [], "colour": "red"}),
        serde_json::json!({"players": [], "limits": {"memory": "256MB"}}),
        serde_json::json!({"players": [], "limits": {"wall_time": -1}}),
        serde_json::json!({"players": [], "match_id": "Match 1"}),
    ] {
        assert!(
            !common::schema_errors("match-request.json", &bad).is_empty(),
            "{bad}"
        );
    }
    let batch = serde_json::json!({"matches": [request]});
    assert!(common::schema_errors("batch.json", &batch).is_empty());
    assert!(common::schema_errors("batch.json", &serde_json::json!([request])).is_empty());
    assert!(!common::schema_errors("batch.json", &serde_json::json!({"games": []})).is_empty());
}
