//! `cargo run -p xtask -- codegen [--check]`: regenerate ampere-ocpp's typed messages.

use std::fs;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["codegen"] => codegen(false),
        ["codegen", "--check"] => codegen(true),
        _ => bail!("usage: cargo run -p xtask -- codegen [--check]"),
    }
}

fn codegen(check: bool) -> Result<()> {
    let root = xtask::repo_root();
    let schemas = xtask::find_schemas(&root).map_err(anyhow::Error::msg)?;
    let files = xtask::generate(&schemas)?;
    let mut stale = Vec::new();
    if !check {
        fs::create_dir_all(root.join(xtask::OUTPUT_DIR))?;
    }
    for (path, contents) in files {
        let full = root.join(&path);
        let current = fs::read_to_string(&full).unwrap_or_default();
        if current == contents {
            continue;
        }
        if check {
            stale.push(path.display().to_string());
        } else {
            fs::write(&full, contents)?;
            println!("wrote {}", path.display());
        }
    }
    if !stale.is_empty() {
        bail!("stale generated files: {}", stale.join(", "));
    }
    Ok(())
}
