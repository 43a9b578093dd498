//! Replays every file of the `handshake` fuzz target's corpus (`fuzz/corpus/handshake/`)
//! through the same checks the fuzzer runs, so the corpus guards the upgrade parser, the
//! frame tracker and bounded inflation in the normal test suite.

use std::fs;
use std::path::Path;

#[test]
fn handshake_corpus_replays_without_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/handshake");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 15,
        "the seed corpus has {} files",
        files.len()
    );
    for file in &files {
        let data = fs::read(file).expect("corpus file");
        ampere_gateway::fuzzing::handshake(&data);
    }
}
