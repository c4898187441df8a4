//! The runner's documents against their committed schemas in `schemas/v1` (see
//! `runner::schema`): a serde type that changes without its schema fails here.

use std::path::Path;

use runner::game_result::GameResult;
use runner::report::{MatchReport, Report, Summary};
use runner::schema::{check_or_update, render_input, render_output};
use runner::spec::{MatchSpec, RunSpec};

#[test]
fn committed_schemas_match_the_types() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let failures: Vec<String> = [
        ("run-spec.json", render_input::<RunSpec>()),
        ("match-spec.json", render_input::<MatchSpec>()),
        ("report.json", render_output::<Report>()),
        ("match-report.json", render_output::<MatchReport>()),
        ("summary.json", render_output::<Summary>()),
        // Printed by the referee, read by the runner: the reader's view is the contract.
        ("game-result.json", render_input::<GameResult>()),
    ]
    .into_iter()
    .filter_map(|(file, text)| check_or_update(&repo, file, &text).err())
    .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
