//! Differential test: our validator against a JSON Schema validator (the `jsonschema` crate,
//! with `format` assertions on) reading the official OCA schema files.
//!
//! For every message of every version, payloads are built from the schema files themselves
//! (not from our descriptors): a valid one with every field, a valid one with only the
//! required fields, and systematically broken ones, one breakage each. Both validators must
//! agree on valid/invalid for every case, our error kind must be the breakage's, and its
//! CALLERROR code must be the brief's table's. Valid payloads must also survive a decode into
//! the generated type and an encode back, text for text.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use ampere_ocpp::{MessageKind, OcppVersion, Violation, ViolationKind, actions, validate};
use serde_json::{Map, Value, json};

/// The error-code table of the brief, written out independently of the crate's.
fn expected_code(kind: ViolationKind, version: OcppVersion) -> &'static str {
    match kind {
        ViolationKind::Type
        | ViolationKind::MaxLength
        | ViolationKind::MinLength
        | ViolationKind::Format => "TypeConstraintViolation",
        ViolationKind::Required | ViolationKind::MinItems | ViolationKind::MaxItems => {
            "OccurrenceConstraintViolation"
        }
        ViolationKind::Enum
        | ViolationKind::Minimum
        | ViolationKind::Maximum
        | ViolationKind::MultipleOf => "PropertyConstraintViolation",
        ViolationKind::AdditionalProperty | ViolationKind::NotAnObject => {
            if version == OcppVersion::V16 {
                "FormationViolation"
            } else {
                "FormatViolation"
            }
        }
    }
}

/// Marks variations that must also survive the typed round trip: each enum value checks its
/// variant's serde name.
const ENUM_VALUE: &str = "enum value";

const DATE_TIME_FULL: &str = "2024-05-06T07:08:09.123Z";
const DATE_TIME_SHORT: &str = "2024-05-06T07:08:09Z";

/// One schema file and what it describes.
struct File {
    action: String,
    kind: MessageKind,
    schema: Value,
}

fn load(dir: &Path) -> Vec<File> {
    let mut files = Vec::new();
    let mut paths: Vec<_> = fs::read_dir(dir)
        .expect("schema dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let stem = path.file_stem().and_then(|s| s.to_str()).expect("name");
        let (action, kind) = match stem.strip_suffix("Response") {
            Some(a) => (a, MessageKind::Response),
            None => (
                stem.strip_suffix("Request").unwrap_or(stem),
                MessageKind::Request,
            ),
        };
        let schema =
            serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("schema JSON");
        files.push(File {
            action: action.to_owned(),
            kind,
            schema,
        });
    }
    files
}

fn resolve<'a>(file: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/definitions/");
            &file["definitions"][name]
        }
        None => schema,
    }
}

fn num(schema: &Value, key: &str) -> Option<f64> {
    schema.get(key).and_then(Value::as_f64)
}

fn count(schema: &Value, key: &str) -> Option<usize> {
    schema
        .get(key)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
}

/// A string of `n` characters, each two bytes in UTF-8: lengths must count characters.
fn text(n: usize) -> String {
    "é".repeat(n)
}

/// A valid value for `schema`: every property when `full`, else only the required ones.
fn valid(file: &Value, schema: &Value, full: bool) -> Value {
    let schema = resolve(file, schema);
    match schema.get("type").and_then(Value::as_str) {
        None => json!({"any": ["json", 1]}),
        Some("boolean") => json!(true),
        Some("integer") => {
            let mut v = 1.0_f64;
            if let Some(min) = num(schema, "minimum") {
                v = v.max(min);
            }
            if let Some(max) = num(schema, "maximum") {
                v = v.min(max);
            }
            json!(v as i64)
        }
        Some("number") => {
            // Both JSON forms of a number: a fraction, and an integer.
            let mut v = if full { 1.5 } else { 2.0 };
            if let Some(min) = num(schema, "minimum") {
                v = f64::max(v, min);
            }
            if let Some(max) = num(schema, "maximum") {
                v = f64::min(v, max);
            }
            if v.fract() == 0.0 && !full {
                json!(v as i64)
            } else {
                json!(v)
            }
        }
        Some("string") => {
            if let Some(values) = schema.get("enum").and_then(Value::as_array) {
                return values[0].clone();
            }
            match schema.get("format").and_then(Value::as_str) {
                Some("date-time") => json!(if full {
                    DATE_TIME_FULL
                } else {
                    DATE_TIME_SHORT
                }),
                Some("uri") => json!("https://example.com/firmware.bin"),
                _ => {
                    let len = count(schema, "maxLength").unwrap_or(8);
                    json!(text(len.max(count(schema, "minLength").unwrap_or(0))))
                }
            }
        }
        Some("array") => {
            let n = count(schema, "minItems").unwrap_or(1).max(1);
            let n = count(schema, "maxItems").map_or(n, |max| n.min(max));
            Value::Array(
                (0..n)
                    .map(|_| valid(file, &schema["items"], full))
                    .collect(),
            )
        }
        Some("object") => {
            let required = required(schema);
            let mut map = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    if full || required.contains(&name.as_str()) {
                        map.insert(name.clone(), valid(file, prop, full));
                    }
                }
            }
            if full && schema.get("additionalProperties") != Some(&Value::Bool(false)) {
                map.insert("vendorSpecific".into(), json!({"kept": [1, "a"]}));
            }
            Value::Object(map)
        }
        Some(other) => panic!("unexpected type {other}"),
    }
}

fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A place in the valid payload where something can be broken.
struct Site<'a> {
    pointer: String,
    schema: &'a Value,
    /// `Some(required)` for an object property, `None` for the root or an array item.
    property: Option<bool>,
}

fn sites<'a>(
    file: &'a Value,
    schema: &'a Value,
    value: &Value,
    pointer: String,
    property: Option<bool>,
    out: &mut Vec<Site<'a>>,
) {
    let schema = resolve(file, schema);
    out.push(Site {
        pointer: pointer.clone(),
        schema,
        property,
    });
    match value {
        Value::Object(map) => {
            let required = required(schema);
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    if let Some(child) = map.get(name) {
                        sites(
                            file,
                            prop,
                            child,
                            format!("{pointer}/{name}"),
                            Some(required.contains(&name.as_str())),
                            out,
                        );
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                sites(
                    file,
                    &schema["items"],
                    first,
                    format!("{pointer}/0"),
                    None,
                    out,
                );
            }
        }
        _ => {}
    }
}

/// Variations of the valid payload at one site: (description, payload, the breakage's kind,
/// or `None` for a variation that is still valid).
fn variations(
    valid: &Value,
    site: &Site<'_>,
    draft4: bool,
) -> Vec<(String, Value, Option<ViolationKind>)> {
    let mut out = Vec::new();
    let current = valid.pointer(&site.pointer).cloned().unwrap_or(Value::Null);
    let mut replace = |what: &str, new: Value, kind: Option<ViolationKind>| {
        let mut payload = valid.clone();
        if site.pointer.is_empty() {
            payload = new;
        } else if let Some(slot) = payload.pointer_mut(&site.pointer) {
            *slot = new;
        }
        out.push((format!("{} {what}", site.pointer), payload, kind));
    };
    let ty = site.schema.get("type").and_then(Value::as_str);
    let is_enum = site.schema.get("enum").is_some();

    // Wrong JSON types (and null for an optional property).
    match ty {
        Some("string") => replace(
            "number instead of string",
            json!(42),
            Some(ViolationKind::Type),
        ),
        Some("integer") => {
            replace(
                "string instead of integer",
                json!("1"),
                Some(ViolationKind::Type),
            );
            replace(
                "fraction instead of integer",
                json!(1.5),
                Some(ViolationKind::Type),
            );
            // `1.0` is an integer in draft-06 but not in draft-04.
            let integral: Value = serde_json::from_str("1.0").expect("1.0");
            let within = num(site.schema, "minimum").is_none_or(|m| m <= 1.0)
                && num(site.schema, "maximum").is_none_or(|m| m >= 1.0);
            // Beyond f64: validators do not take it for an integer, in any draft.
            let huge: Value = serde_json::from_str("1e400").expect("1e400");
            replace("1e400", huge, Some(ViolationKind::Type));
            if within {
                replace(
                    "integral float",
                    integral,
                    draft4.then_some(ViolationKind::Type),
                );
            }
        }
        Some("number") => {
            // Beyond f64: a number, above any maximum, and (as validators judge) no multiple.
            let huge: Value = serde_json::from_str("1e400").expect("1e400");
            let expected = if num(site.schema, "maximum").is_some() {
                Some(ViolationKind::Maximum)
            } else if num(site.schema, "multipleOf").is_some() {
                Some(ViolationKind::MultipleOf)
            } else {
                None
            };
            replace("1e400", huge, expected);
            replace(
                "string instead of number",
                json!("1.5"),
                Some(ViolationKind::Type),
            );
        }
        Some("boolean") => replace(
            "string instead of boolean",
            json!("true"),
            Some(ViolationKind::Type),
        ),
        Some("array") => replace(
            "object instead of array",
            json!({}),
            Some(ViolationKind::Type),
        ),
        Some("object") if site.pointer.is_empty() => {
            replace(
                "array instead of payload",
                json!([]),
                Some(ViolationKind::NotAnObject),
            );
        }
        Some("object") => replace(
            "string instead of object",
            json!("x"),
            Some(ViolationKind::Type),
        ),
        _ => {}
    }
    if site.property == Some(false) && ty.is_some() {
        replace("null", Value::Null, Some(ViolationKind::Type));
    }
    // Strings: length, enum, format.
    if ty == Some("string") {
        if let Some(values) = site.schema.get("enum").and_then(Value::as_array) {
            // Every other value of the list: still valid, and (see ENUM_VALUE) round-tripped.
            for v in values.iter().skip(1) {
                replace(&format!("{ENUM_VALUE} {v}"), v.clone(), None);
            }
        }
        if is_enum {
            replace(
                "off the enum",
                json!("NotOnTheList"),
                Some(ViolationKind::Enum),
            );
        }
        if let Some(max) = count(site.schema, "maxLength") {
            replace(
                "one character too long",
                json!(text(max + 1)),
                Some(ViolationKind::MaxLength),
            );
        }
        if let Some(min) = count(site.schema, "minLength").filter(|m| *m > 0) {
            replace(
                "one character too short",
                json!(text(min - 1)),
                Some(ViolationKind::MinLength),
            );
        }
        match site.schema.get("format").and_then(Value::as_str) {
            Some("date-time") => {
                replace("offset", json!("2024-05-06T07:08:09+02:00"), None);
                replace("lower case", json!("2024-05-06t07:08:09.5z"), None);
                replace("leap second", json!("2016-12-31T23:59:60Z"), None);
                replace(
                    "misplaced leap second",
                    json!("2016-12-31T12:59:60Z"),
                    Some(ViolationKind::Format),
                );
                replace(
                    "month 13",
                    json!("2024-13-06T07:08:09Z"),
                    Some(ViolationKind::Format),
                );
                replace(
                    "no offset",
                    json!("2024-05-06T07:08:09"),
                    Some(ViolationKind::Format),
                );
                replace(
                    "space separator",
                    json!("2024-05-06 07:08:09Z"),
                    Some(ViolationKind::Format),
                );
            }
            Some("uri") => {
                replace("not a URI", json!("not a uri"), Some(ViolationKind::Format));
                replace(
                    "space in a URI",
                    json!("http://exa mple.com/"),
                    Some(ViolationKind::Format),
                );
                replace(
                    "bad escape",
                    json!("http://example.com/%zz"),
                    Some(ViolationKind::Format),
                );
                replace(
                    "ftp URI",
                    json!("ftp://user:pw@host:21/path%20x?q=1#f"),
                    None,
                );
                replace("urn", json!("urn:isbn:0451450523"), None);
            }
            _ => {}
        }
    }
    // Numbers: bounds and multipleOf.
    if matches!(ty, Some("integer" | "number")) {
        let integer = ty == Some("integer");
        let as_json = |v: f64| if integer { json!(v as i64) } else { json!(v) };
        if let Some(min) = num(site.schema, "minimum") {
            replace(
                "below minimum",
                as_json(min - 1.0),
                Some(ViolationKind::Minimum),
            );
        }
        if let Some(max) = num(site.schema, "maximum") {
            replace(
                "above maximum",
                as_json(max + 1.0),
                Some(ViolationKind::Maximum),
            );
        }
        if let (Some(m), Some(v)) = (num(site.schema, "multipleOf"), current.as_f64()) {
            let off = v + m / 2.0;
            let in_range = num(site.schema, "maximum").is_none_or(|max| off <= max);
            if in_range {
                replace(
                    "not a multiple",
                    json!(off),
                    Some(ViolationKind::MultipleOf),
                );
            }
            // Multiples that binary floating point gets wrong (0.3 / 0.1 = 2.9999999999999996).
            for ok in [0.3, 16.3, 1.1] {
                let fits = num(site.schema, "minimum").is_none_or(|min| ok >= min)
                    && num(site.schema, "maximum").is_none_or(|max| ok <= max);
                if fits && (m * 10.0).fract() == 0.0 {
                    replace(&format!("decimal multiple {ok}"), json!(ok), None);
                }
            }
        }
    }
    // Arrays: item counts.
    if ty == Some("array") {
        if count(site.schema, "minItems").is_some_and(|m| m > 0) {
            replace("no items", json!([]), Some(ViolationKind::MinItems));
        }
        if let (Some(max), Some(first)) = (
            count(site.schema, "maxItems"),
            current.as_array().and_then(|a| a.first()),
        ) {
            let items = vec![first.clone(); max + 1];
            replace(
                "one item too many",
                Value::Array(items),
                Some(ViolationKind::MaxItems),
            );
        }
    }
    // Objects: an unexpected property.
    if ty == Some("object")
        && site.schema.get("additionalProperties") == Some(&Value::Bool(false))
        && let Value::Object(mut map) = current.clone()
    {
        map.insert("unexpectedProperty".into(), json!(1));
        replace(
            "unexpected property",
            Value::Object(map),
            Some(ViolationKind::AdditionalProperty),
        );
    }
    // Required properties: missing.
    if site.property == Some(true) {
        let mut payload = valid.clone();
        let (parent, name) = site.pointer.rsplit_once('/').expect("property pointer");
        if let Some(Value::Object(map)) = payload.pointer_mut(parent) {
            map.shift_remove(name);
        }
        out.push((
            format!("{} missing", site.pointer),
            payload,
            Some(ViolationKind::Required),
        ));
    }
    out
}

#[derive(Default)]
struct Tally {
    cases: usize,
    valid: usize,
    round_trips: usize,
    disagreements: Vec<String>,
}

fn check_version(ocpp: &Path, version: OcppVersion, module: &str, tally: &mut Tally) {
    let files = load(&ocpp.join(module).join("schemas"));
    let mut per_action: BTreeMap<&str, usize> = BTreeMap::new();
    for file in &files {
        *per_action.entry(file.action.as_str()).or_default() += 1;
        let oracle = jsonschema::options()
            .should_validate_formats(true)
            .build(&file.schema)
            .unwrap_or_else(|e| {
                panic!(
                    "{} {:?}: oracle rejects the schema: {e}",
                    file.action, file.kind
                )
            });
        let name = format!("{version} {} {:?}", file.action, file.kind);

        for full in [true, false] {
            let payload = valid(&file.schema, &file.schema, full);
            tally.cases += 1;
            tally.valid += 1;
            let ours = validate(version, &file.action, file.kind, &payload);
            if !oracle.is_valid(&payload) || ours.is_err() {
                tally.disagreements.push(format!(
                    "{name}: valid payload (full={full}) judged: oracle {}, ours {ours:?}: {payload}",
                    oracle.is_valid(&payload)
                ));
                continue;
            }
            round_trip(version, file, &payload, &format!("full={full}"), tally);
        }

        let draft4 = file
            .schema
            .get("$schema")
            .and_then(Value::as_str)
            .is_some_and(|s| s.contains("draft-04"));
        let full = valid(&file.schema, &file.schema, true);
        let mut found = Vec::new();
        sites(
            &file.schema,
            &file.schema,
            &full,
            String::new(),
            None,
            &mut found,
        );
        for site in &found {
            for (what, payload, kind) in variations(&full, site, draft4) {
                tally.cases += 1;
                let oracle_valid = oracle.is_valid(&payload);
                let ours = validate(version, &file.action, file.kind, &payload);
                let agree = match (&ours, kind) {
                    (Ok(()), None) => oracle_valid,
                    (Err(Violation::Invalid { kind: ours, .. }), Some(kind)) => {
                        !oracle_valid
                            && *ours == kind
                            && ours.code().as_str(version) == expected_code(kind, version)
                    }
                    _ => false,
                };
                if kind.is_none() {
                    tally.valid += 1;
                    if agree && what.contains(ENUM_VALUE) {
                        round_trip(version, file, &payload, &what, tally);
                    }
                }
                if !agree {
                    tally.disagreements.push(format!(
                        "{name}: {what}: oracle valid={oracle_valid}, expected {kind:?}, ours {ours:?}"
                    ));
                }
            }
        }
    }

    // actions() lists exactly the actions that have schemas, each with its files.
    let listed: Vec<&str> = actions(version).iter().map(|a| a.name).collect();
    let in_schemas: Vec<&str> = per_action.keys().copied().collect();
    assert_eq!(
        listed, in_schemas,
        "{version}: actions() and schema files differ"
    );
    for info in actions(version) {
        let files = per_action[info.name];
        assert_eq!(
            files,
            if info.send { 1 } else { 2 },
            "{version} {}",
            info.name
        );
    }
}

/// Decodes a valid payload into its generated type and encodes it again: same text.
fn round_trip(version: OcppVersion, file: &File, payload: &Value, what: &str, tally: &mut Tally) {
    let run = match version {
        OcppVersion::V16 => ampere_ocpp::v16::typed_round_trip,
        OcppVersion::V201 => ampere_ocpp::v201::typed_round_trip,
        OcppVersion::V21 => ampere_ocpp::v21::typed_round_trip,
    };
    let text = serde_json::to_string(payload).expect("serialize");
    match run(&file.action, file.kind, payload) {
        Some(Ok(again)) if again == text => tally.round_trips += 1,
        other => tally.disagreements.push(format!(
            "{version} {} {:?}: typed round trip ({what}) changed\n  {text}\n  {other:?}",
            file.action, file.kind
        )),
    }
}

#[test]
fn validator_agrees_with_the_official_schemas() {
    let Some(ocpp) = common::schemas_or_skip("validator_agrees_with_the_official_schemas") else {
        return;
    };
    // Floors well below today's counts, so that a generator that silently drops cases fails.
    let versions = [
        (OcppVersion::V16, "v16", 39, 1_400),
        (OcppVersion::V201, "v201", 64, 5_500),
        (OcppVersion::V21, "v21", 91, 13_000),
    ];
    let mut failures = Vec::new();
    for (version, module, action_count, floor) in versions {
        assert_eq!(
            actions(version).len(),
            action_count,
            "{version} action count"
        );
        let mut tally = Tally::default();
        check_version(&ocpp, version, module, &mut tally);
        eprintln!(
            "OCPP {version}: {} cases ({} valid, {} of them typed round trips; {} broken), {} disagreements",
            tally.cases,
            tally.valid,
            tally.round_trips,
            tally.cases - tally.valid,
            tally.disagreements.len()
        );
        assert!(
            tally.cases >= floor,
            "{version}: only {} cases, expected at least {floor}",
            tally.cases
        );
        failures.extend(tally.disagreements);
    }
    let shown: Vec<&String> = failures.iter().take(30).collect();
    assert!(
        failures.is_empty(),
        "{} disagreements, first ones:\n{}",
        failures.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
