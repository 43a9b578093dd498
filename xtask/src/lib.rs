//! Project tasks. `codegen` turns the OCA JSON schemas of OCPP 1.6, 2.0.1 and 2.1 (read from
//! the Python `ocpp` package, never committed) into `crates/ampere-ocpp/src/generated/`.
//!
//! The library half exists so that ampere-ocpp's tests can regenerate in memory and say when
//! the committed output is stale.

mod emit;
mod model;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use emit::Version;

const VERSIONS: [Version; 3] = [
    Version {
        module: "v16",
        variant: "V16",
        display: "1.6",
    },
    Version {
        module: "v201",
        variant: "V201",
        display: "2.0.1",
    },
    Version {
        module: "v21",
        variant: "V21",
        display: "2.1",
    },
];

/// The repository root (the parent of `xtask/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Where the generated files live, relative to the repository root.
pub const OUTPUT_DIR: &str = "crates/ampere-ocpp/src/generated";

/// The `ocpp` package directory: `$AMPERE_OCPP_SCHEMAS`, else
/// `<repo>/.venv/lib/python3*/site-packages/ocpp`. `Err` says where it looked.
pub fn find_schemas(repo: &Path) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("AMPERE_OCPP_SCHEMAS") {
        let dir = PathBuf::from(dir);
        return if dir.join("v16/schemas").is_dir() {
            Ok(dir)
        } else {
            Err(format!(
                "AMPERE_OCPP_SCHEMAS={} has no v16/schemas directory",
                dir.display()
            ))
        };
    }
    let lib = repo.join(".venv/lib");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("python3"))
        })
        .map(|p| p.join("site-packages/ocpp"))
        .filter(|p| p.join("v16/schemas").is_dir())
        .collect();
    found.sort();
    found.pop().ok_or_else(|| {
        format!(
            "OCPP schemas not found: set AMPERE_OCPP_SCHEMAS to the `ocpp` package directory or \
             install it in {} (pip install ocpp)",
            repo.join(".venv").display()
        )
    })
}

/// Every generated file: (path relative to the repository root, formatted contents).
pub fn generate(ocpp_package: &Path) -> Result<Vec<(PathBuf, String)>> {
    let out = Path::new(OUTPUT_DIR);
    let mut files = Vec::new();
    for version in &VERSIONS {
        let dir = ocpp_package.join(version.module).join("schemas");
        let model = model::load(&dir).with_context(|| format!("OCPP {}", version.display))?;
        files.push((
            out.join(format!("{}.rs", version.module)),
            rustfmt(&emit::types(version, &model)?)?,
        ));
        files.push((
            out.join(format!("{}_schema.rs", version.module)),
            rustfmt(&emit::schema(version, &model)?)?,
        ));
    }
    files.push((out.join("mod.rs"), rustfmt(&emit::module(&VERSIONS)?)?));
    Ok(files)
}

/// Formats generated code the way `cargo fmt` would, so the output is committed as-is.
fn rustfmt(source: &str) -> Result<String> {
    let mut child = Command::new(std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".into()))
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .current_dir(repo_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running rustfmt")?;
    child
        .stdin
        .take()
        .context("rustfmt stdin")?
        .write_all(source.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "rustfmt failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}
