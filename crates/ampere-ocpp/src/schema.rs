//! The static descriptors the generator emits for each message (`generated/*_schema.rs`):
//! our own compact reading of the OCA JSON schemas, interpreted by [`crate::validate`].

use crate::MessageKind;

/// One message's schema.
#[derive(Debug)]
pub(crate) struct Message {
    pub action: &'static str,
    pub kind: MessageKind,
    /// The schema file is JSON Schema draft-04, where `1.0` is not an integer (draft-06
    /// counts any number without a fractional part).
    pub draft4: bool,
    pub root: &'static Object,
}

/// A JSON object with named properties.
#[derive(Debug)]
pub(crate) struct Object {
    /// In schema order.
    pub properties: &'static [Property],
    pub required: &'static [&'static str],
    /// Whether properties not listed are allowed.
    pub additional: bool,
}

#[derive(Debug)]
pub(crate) struct Property {
    pub name: &'static str,
    pub node: Node,
}

/// What one JSON value must look like.
#[derive(Debug)]
pub(crate) enum Node {
    /// Anything (no `type` in the schema).
    Any,
    Boolean,
    Integer(Bounds),
    Number(Bounds),
    String {
        min_len: Option<usize>,
        max_len: Option<usize>,
        format: Option<Format>,
    },
    /// A string from this list.
    Enum(&'static [&'static str]),
    Array {
        items: &'static Node,
        min_items: Option<usize>,
        max_items: Option<usize>,
    },
    Object(&'static Object),
}

impl Node {
    /// A plain string with an optional maximum length (the common case, kept short in the
    /// generated files).
    pub const fn string(max_len: Option<usize>) -> Self {
        Self::String {
            min_len: None,
            max_len,
            format: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bounds {
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    pub multiple_of: Option<f64>,
}

impl Bounds {
    pub const NONE: Self = Self {
        minimum: None,
        maximum: None,
        multiple_of: None,
    };
}

/// The string formats the OCPP schemas use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// RFC 3339 `date-time`.
    DateTime,
    /// RFC 3986 URI (1.6 firmware and diagnostics locations).
    Uri,
}
