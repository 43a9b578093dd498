//! The committed generated code is what the generator makes of the official schemas today.

mod common;

use std::fs;

#[test]
fn generated_code_is_up_to_date() {
    let Some(schemas) = common::schemas_or_skip("generated_code_is_up_to_date") else {
        return;
    };
    let root = xtask::repo_root();
    let files = xtask::generate(&schemas).expect("the generator runs on the official schemas");
    let stale: Vec<String> = files
        .iter()
        .filter(|(path, contents)| {
            fs::read_to_string(root.join(path)).ok().as_deref() != Some(contents.as_str())
        })
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(
        stale.is_empty(),
        "generated code is stale ({}): run `cargo run -p xtask -- codegen` and commit the result",
        stale.join(", ")
    );
}
