//! Replays every file of the `frame` fuzz target's corpus (`fuzz/corpus/frame/`) through the
//! same checks the fuzzer runs, so the corpus guards the parser in the normal test suite.

use std::fs;
use std::path::Path;

#[test]
fn fuzz_corpus_replays_without_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/frame");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "the seed corpus has {} files",
        files.len()
    );
    for file in &files {
        let data = fs::read(file).expect("corpus file");
        ampere_ocpp::fuzzing::frame(&data);
    }
}

#[test]
fn seed_frames_get_the_expected_answers() {
    use ampere_ocpp::OcppVersion::{V16, V21, V201};
    use ampere_ocpp::frame::parse_bytes;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/frame");
    let answer = |name: &str, version| {
        let data = fs::read(dir.join(name)).expect(name);
        parse_bytes(&data, version)
            .expect_err(name)
            .reply()
            .map(|f| f.to_text(version))
    };
    assert_eq!(
        answer("truncated", V16).as_deref().map(|t| &t[..31]),
        Some(r#"[4,"-1","FormationViolation","n"#)
    );
    assert_eq!(
        answer("type-unknown", V201).as_deref(),
        Some(
            r#"[4,"1","MessageTypeNotSupported","message type 7 is not supported in OCPP 2.0.1",{}]"#
        )
    );
    assert_eq!(
        answer("id-37-chars", V21).as_deref(),
        Some(r#"[4,"-1","RpcFrameworkError","message id is longer than 36 characters",{}]"#)
    );
    assert_eq!(
        answer("payload-array", V16).as_deref(),
        Some(r#"[4,"1","FormationViolation","payload must be a JSON object",{}]"#)
    );
    assert_eq!(answer("callresult-not-object", V201), None);
}
