//! Reads one version's OCA JSON schemas into a small model: named object and enum types,
//! deduplicated, with deterministic Rust names, and one root object per message.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Map, Value};

/// A JSON value's shape as the schemas describe it.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// No `type`: any JSON value (2.x `DataTransfer.data`).
    Any,
    Boolean,
    Integer(Bounds),
    Number(Bounds),
    String {
        min_len: Option<u64>,
        max_len: Option<u64>,
        format: Option<String>,
    },
    /// Index into [`Model::enums`].
    Enum(usize),
    Array {
        items: Box<Ty>,
        min_items: Option<u64>,
        max_items: Option<u64>,
    },
    /// Index into [`Model::objects`].
    Object(usize),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bounds {
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub multiple_of: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct Property {
    pub json_name: String,
    pub ty: Ty,
    pub required: bool,
}

#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: String,
    pub properties: Vec<Property>,
    /// As listed in the schema (may, in theory, name properties that are not declared).
    pub required: Vec<String>,
    /// `additionalProperties` is absent or `true`.
    pub additional: bool,
}

#[derive(Debug, Clone)]
pub struct EnumDef {
    pub name: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub action: String,
    pub response: bool,
    /// The file uses JSON Schema draft-04 (where `1.0` is not an integer).
    pub draft4: bool,
    /// Index into [`Model::objects`].
    pub root: usize,
}

#[derive(Debug, Default)]
pub struct Model {
    pub objects: Vec<ObjectDef>,
    pub enums: Vec<EnumDef>,
    /// Sorted by action, request before response.
    pub messages: Vec<Message>,
}

/// Names generated code relies on, so no schema type may take them.
const RESERVED: &[&str] = &[
    "Option",
    "Vec",
    "String",
    "Box",
    "Result",
    "Value",
    "Map",
    "Decimal",
    "DateTime",
    "Utc",
    "Serialize",
    "Deserialize",
    "Action",
    "OcppVersion",
    "ErrorCode",
    "CallError",
    "MessageKind",
    "Self",
];

/// Where an inline (unnamed) type sits, to derive its name from.
struct Site<'a> {
    /// Action name, e.g. `BootNotification`.
    action: &'a str,
    /// `Request` or `Response`.
    suffix: &'a str,
    /// Property names from the message root down to this type.
    path: Vec<String>,
}

/// An inline type waiting for its name: candidates from short to fully qualified.
struct Pending {
    key: String,
    candidates: Vec<String>,
    slot: Slot,
}

enum Slot {
    Object(usize),
    Enum(usize),
}

struct Builder {
    model: Model,
    /// Definition name → Ty, per version (2.x definitions are identical across files).
    definitions: HashMap<String, Ty>,
    /// Inline types by canonical schema text, so identical ones are shared.
    inline: HashMap<String, Ty>,
    pending: Vec<Pending>,
    /// Names taken so far and the canonical schema they stand for.
    taken: HashMap<String, String>,
}

pub fn load(dir: &Path) -> Result<Model> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    ensure!(!files.is_empty(), "no schema files in {}", dir.display());

    // (action, is_response, schema)
    let mut parsed = Vec::new();
    for path in &files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("schema file name")?;
        let (action, response) = if let Some(a) = stem.strip_suffix("Response") {
            (a.to_owned(), true)
        } else {
            (
                stem.strip_suffix("Request").unwrap_or(stem).to_owned(),
                false,
            )
        };
        let text = fs::read_to_string(path)?;
        let schema: Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        parsed.push((action, response, schema));
    }
    parsed.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));

    let mut b = Builder {
        model: Model::default(),
        definitions: HashMap::new(),
        inline: HashMap::new(),
        pending: Vec::new(),
        taken: HashMap::new(),
    };
    for name in RESERVED {
        b.taken.insert((*name).to_owned(), String::new());
    }
    // Message names first: nothing else may take them.
    for (action, response, schema) in &parsed {
        let name = message_name(action, *response);
        b.taken.insert(name, canonical(schema));
    }
    // Definition names next, in a fixed order; a clash between `XType` and `XEnumType`
    // leaves the enum its `Enum` suffix.
    let mut def_names: BTreeMap<String, Value> = BTreeMap::new();
    for (_, _, schema) in &parsed {
        if let Some(Value::Object(defs)) = schema.get("definitions") {
            for (name, def) in defs {
                def_names.insert(name.clone(), def.clone());
            }
        }
    }
    let mut short: HashMap<String, Vec<String>> = HashMap::new();
    for name in def_names.keys() {
        short
            .entry(strip_definition(name))
            .or_default()
            .push(name.clone());
    }
    let mut def_rust_names = HashMap::new();
    for (name, def) in &def_names {
        let stripped = strip_definition(name);
        let rust = if short[&stripped].len() > 1 && name.ends_with("EnumType") {
            format!("{stripped}Enum")
        } else {
            stripped
        };
        ensure!(
            !b.taken.contains_key(&rust),
            "definition {name} would be named {rust}, which is taken"
        );
        b.taken.insert(rust.clone(), canonical(def));
        def_rust_names.insert(name.clone(), rust);
    }

    for (action, response, schema) in &parsed {
        let draft4 = schema
            .get("$schema")
            .and_then(Value::as_str)
            .is_some_and(|s| s.contains("draft-04"));
        let defs = schema
            .get("definitions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let suffix = if *response { "Response" } else { "Request" };
        let site = Site {
            action,
            suffix,
            path: Vec::new(),
        };
        let name = message_name(action, *response);
        ensure!(
            schema.get("type").and_then(Value::as_str) == Some("object"),
            "{action}{suffix}: root is not an object"
        );
        let root = b
            .object(schema, Some(name), &site, &defs, &def_rust_names)
            .with_context(|| format!("{action}{suffix}"))?;
        b.model.messages.push(Message {
            action: action.clone(),
            response: *response,
            draft4,
            root,
        });
    }
    b.name_inline_types()?;
    Ok(b.model)
}

pub fn message_name(action: &str, response: bool) -> String {
    format!("{action}{}", if response { "Response" } else { "Request" })
}

/// `IdTokenType` → `IdToken`, `RegistrationStatusEnumType` → `RegistrationStatus`.
fn strip_definition(name: &str) -> String {
    name.strip_suffix("EnumType")
        .or_else(|| name.strip_suffix("Type"))
        .unwrap_or(name)
        .to_owned()
}

/// A schema's text without the parts that do not affect validation, keys sorted: two
/// schemas with the same canonical text are the same type.
fn canonical(schema: &Value) -> String {
    // Keywords are sorted; property names keep their order, which is part of the type.
    fn strip(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let mut entries: Vec<(&String, Value)> = map
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "description" | "comment" | "javaType" | "$schema" | "$id" | "title"
                        )
                    })
                    .map(|(k, v)| {
                        let v = match (k.as_str(), v) {
                            ("properties" | "definitions", Value::Object(named)) => Value::Object(
                                named.iter().map(|(n, s)| (n.clone(), strip(s))).collect(),
                            ),
                            _ => strip(v),
                        };
                        (k, v)
                    })
                    .collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    strip(schema).to_string()
}

pub fn pascal(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

impl Builder {
    fn convert(
        &mut self,
        schema: &Value,
        site: &Site<'_>,
        defs: &Map<String, Value>,
        def_names: &HashMap<String, String>,
    ) -> Result<Ty> {
        let obj = schema.as_object().context("schema is not an object")?;
        if let Some(reference) = obj.get("$ref") {
            let reference = reference.as_str().context("$ref is not a string")?;
            let def = reference
                .strip_prefix("#/definitions/")
                .with_context(|| format!("unsupported $ref {reference}"))?;
            if let Some(ty) = self.definitions.get(def) {
                return Ok(ty.clone());
            }
            let body = defs
                .get(def)
                .with_context(|| format!("missing definition {def}"))?
                .clone();
            let name = def_names[def].clone();
            // An object definition is known under its slot before its properties are read,
            // so a definition that refers to itself does not recurse forever.
            if body.get("type").and_then(Value::as_str) == Some("object") {
                let slot = Ty::Object(self.model.objects.len());
                self.definitions.insert(def.to_owned(), slot);
            }
            let ty = self.named_type(&body, name, site, defs, def_names)?;
            self.definitions.insert(def.to_owned(), ty.clone());
            return Ok(ty);
        }
        self.inline_type(schema, site, defs, def_names)
    }

    /// A type given a fixed name (definition): objects and enums are registered under it.
    fn named_type(
        &mut self,
        schema: &Value,
        name: String,
        site: &Site<'_>,
        defs: &Map<String, Value>,
        def_names: &HashMap<String, String>,
    ) -> Result<Ty> {
        let ty = match schema.get("type").and_then(Value::as_str) {
            Some("object") => Ty::Object(self.object(schema, Some(name), site, defs, def_names)?),
            Some("string") if schema.get("enum").is_some() => {
                Ty::Enum(self.enumeration(schema, Some(name))?)
            }
            _ => self.inline_type(schema, site, defs, def_names)?,
        };
        Ok(ty)
    }

    fn inline_type(
        &mut self,
        schema: &Value,
        site: &Site<'_>,
        defs: &Map<String, Value>,
        def_names: &HashMap<String, String>,
    ) -> Result<Ty> {
        let obj = schema.as_object().context("schema is not an object")?;
        for key in obj.keys() {
            ensure!(
                KNOWN_KEYWORDS.contains(&key.as_str()),
                "unsupported schema keyword {key:?} at {:?}",
                site.path
            );
        }
        let u = |k: &str| obj.get(k).and_then(Value::as_u64);
        let f = |k: &str| obj.get(k).and_then(Value::as_f64);
        let ty = match obj.get("type") {
            None => {
                ensure!(obj.get("enum").is_none(), "enum without type");
                Ty::Any
            }
            Some(Value::String(t)) => match t.as_str() {
                "boolean" => Ty::Boolean,
                "integer" | "number" => {
                    let bounds = Bounds {
                        minimum: f("minimum"),
                        maximum: f("maximum"),
                        multiple_of: f("multipleOf"),
                    };
                    if t == "integer" {
                        Ty::Integer(bounds)
                    } else {
                        Ty::Number(bounds)
                    }
                }
                "string" if obj.contains_key("enum") => {
                    let key = canonical(schema);
                    if let Some(ty) = self.inline.get(&key) {
                        return Ok(ty.clone());
                    }
                    let i = self.enumeration(schema, None)?;
                    let ty = Ty::Enum(i);
                    self.pending.push(Pending {
                        key: key.clone(),
                        candidates: candidates(site),
                        slot: Slot::Enum(i),
                    });
                    self.inline.insert(key, ty.clone());
                    ty
                }
                "string" => Ty::String {
                    min_len: u("minLength"),
                    max_len: u("maxLength"),
                    format: obj.get("format").and_then(Value::as_str).map(str::to_owned),
                },
                "array" => {
                    let items = obj.get("items").context("array without items")?;
                    // Array items are named after the array property.
                    let items = self.convert(items, site, defs, def_names)?;
                    Ty::Array {
                        items: Box::new(items),
                        min_items: u("minItems"),
                        max_items: u("maxItems"),
                    }
                }
                "object" => {
                    let key = canonical(schema);
                    if let Some(ty) = self.inline.get(&key) {
                        return Ok(ty.clone());
                    }
                    let i = self.object(schema, None, site, defs, def_names)?;
                    let ty = Ty::Object(i);
                    self.pending.push(Pending {
                        key: key.clone(),
                        candidates: candidates(site),
                        slot: Slot::Object(i),
                    });
                    self.inline.insert(key, ty.clone());
                    ty
                }
                other => bail!("unsupported type {other:?}"),
            },
            Some(other) => bail!("unsupported type {other}"),
        };
        Ok(ty)
    }

    fn enumeration(&mut self, schema: &Value, name: Option<String>) -> Result<usize> {
        let values = schema
            .get("enum")
            .and_then(Value::as_array)
            .context("enum is not an array")?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .context("enum value is not a string")
            })
            .collect::<Result<Vec<_>>>()?;
        self.model.enums.push(EnumDef {
            name: name.unwrap_or_default(),
            values,
        });
        Ok(self.model.enums.len() - 1)
    }

    fn object(
        &mut self,
        schema: &Value,
        name: Option<String>,
        site: &Site<'_>,
        defs: &Map<String, Value>,
        def_names: &HashMap<String, String>,
    ) -> Result<usize> {
        // Reserve the slot first so that nested types are numbered after their parent.
        self.model.objects.push(ObjectDef {
            name: name.unwrap_or_default(),
            properties: Vec::new(),
            required: Vec::new(),
            additional: true,
        });
        let index = self.model.objects.len() - 1;
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let additional = match schema.get("additionalProperties") {
            None | Some(Value::Bool(true)) => true,
            Some(Value::Bool(false)) => false,
            Some(other) => bail!("unsupported additionalProperties {other}"),
        };
        let mut properties = Vec::new();
        if let Some(props) = schema.get("properties") {
            let props = props.as_object().context("properties is not an object")?;
            for (json_name, prop) in props {
                let mut path = site.path.clone();
                path.push(json_name.clone());
                let child = Site {
                    action: site.action,
                    suffix: site.suffix,
                    path,
                };
                let ty = self
                    .convert(prop, &child, defs, def_names)
                    .with_context(|| format!("property {json_name}"))?;
                properties.push(Property {
                    json_name: json_name.clone(),
                    required: required.contains(json_name),
                    ty,
                });
            }
        }
        let def = &mut self.model.objects[index];
        def.properties = properties;
        def.required = required;
        def.additional = additional;
        Ok(index)
    }

    /// Gives every inline type the shortest candidate name that no different type wants.
    fn name_inline_types(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let mut unresolved: Vec<&Pending> = pending.iter().collect();
        let levels = unresolved
            .iter()
            .map(|p| p.candidates.len())
            .max()
            .unwrap_or(0);
        for level in 0..levels {
            let mut wanted: BTreeMap<String, Vec<&Pending>> = BTreeMap::new();
            for p in &unresolved {
                let candidate = &p.candidates[level.min(p.candidates.len() - 1)];
                wanted.entry(candidate.clone()).or_default().push(p);
            }
            let mut still = Vec::new();
            for (name, group) in wanted {
                let same = group.iter().all(|p| p.key == group[0].key);
                let free = self.taken.get(&name).is_none_or(|k| *k == group[0].key);
                if same && free {
                    self.taken.insert(name.clone(), group[0].key.clone());
                    for p in group {
                        match p.slot {
                            Slot::Object(i) => self.model.objects[i].name = name.clone(),
                            Slot::Enum(i) => self.model.enums[i].name = name.clone(),
                        }
                    }
                } else {
                    still.extend(group);
                }
            }
            unresolved = still;
        }
        if let Some(p) = unresolved.first() {
            bail!(
                "no unique name for inline type; candidates {:?}",
                p.candidates
            );
        }
        Ok(())
    }
}

/// Candidate names of an inline type, shortest first: the property, parent + property, the
/// whole path under the action, and finally the whole path under the message.
fn candidates(site: &Site<'_>) -> Vec<String> {
    let parts: Vec<String> = site.path.iter().map(|p| pascal(p)).collect();
    let Some(last) = parts.last() else {
        return vec![format!("{}{}", site.action, site.suffix)];
    };
    let parent = if parts.len() >= 2 {
        parts[parts.len() - 2].clone()
    } else {
        site.action.to_owned()
    };
    vec![
        last.clone(),
        format!("{parent}{last}"),
        format!("{}{}", site.action, parts.concat()),
        format!("{}{}{}", site.action, site.suffix, parts.concat()),
    ]
}

const KNOWN_KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "id",
    "title",
    "comment",
    "description",
    "javaType",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "additionalItems",
    "definitions",
    "enum",
    "format",
    "maxLength",
    "minLength",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "multipleOf",
    "default",
];
