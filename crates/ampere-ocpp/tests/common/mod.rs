//! Shared by the integration tests: where the official schemas are, and the CI rule.

use std::path::PathBuf;

/// The `ocpp` package directory holding `v16/`, `v201/`, `v21/` schemas, or `None` (with the
/// reason printed) when it is not installed. With `CI=true` a missing package fails the test.
pub fn schemas_or_skip(test: &str) -> Option<PathBuf> {
    match xtask::find_schemas(&xtask::repo_root()) {
        Ok(dir) => Some(dir),
        Err(why) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: {why} (required when CI=true)"
            );
            eprintln!("{test}: skipped: {why}");
            None
        }
    }
}
