//! Payload validation that judges exactly as the official OCA JSON schemas do, mapped to the
//! CALLERROR code each kind of breakage earns.
//!
//! One generic walker interprets the descriptors the generator emits per message
//! (`generated/*_schema.rs`). JSON Schema semantics that matter here:
//! - string lengths count Unicode code points, not bytes or UTF-16 units;
//! - `integer`: in draft-04 files (most of 1.6) only numbers written without a fraction or
//!   exponent are integers; in draft-06 files (1.6 security messages, 2.x) any number without
//!   a fractional part (`1.0`, `1e2`) is;
//! - `multipleOf` is decided on the decimal the sender wrote (`16.3` is a multiple of `0.1`),
//!   not on the binary float, which would call it a non-multiple;
//! - `date-time` is RFC 3339 (with the leap-second rule); `uri` is an RFC 3986 absolute URI.

use std::fmt::Write;

use serde_json::{Map, Value};

use crate::schema::{Bounds, Format, Message, Node, Object};
use crate::{CallError, ErrorCode, MessageKind, OcppVersion, generated};

/// What is wrong with a payload, in JSON Schema terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViolationKind {
    /// The payload itself is not a JSON object.
    NotAnObject,
    /// A property the schema does not allow (`additionalProperties: false`).
    AdditionalProperty,
    /// A required property is missing.
    Required,
    /// A value of the wrong JSON type (including integer vs number).
    Type,
    /// A string longer than `maxLength`.
    MaxLength,
    /// A string shorter than `minLength`.
    MinLength,
    /// A string that is not a valid `date-time` or `uri`.
    Format,
    /// A string that is not one of the enumerated values.
    Enum,
    Minimum,
    Maximum,
    MultipleOf,
    /// An array with fewer items than `minItems`.
    MinItems,
    /// An array with more items than `maxItems`.
    MaxItems,
}

impl ViolationKind {
    /// The CALLERROR code for each kind of breakage: the one table of it.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::Type | Self::MaxLength | Self::MinLength | Self::Format => {
                ErrorCode::TypeConstraintViolation
            }
            Self::Required | Self::MinItems | Self::MaxItems => {
                ErrorCode::OccurrenceConstraintViolation
            }
            Self::Enum | Self::Minimum | Self::Maximum | Self::MultipleOf => {
                ErrorCode::PropertyConstraintViolation
            }
            Self::AdditionalProperty | Self::NotAnObject => ErrorCode::FormatViolation,
        }
    }
}

/// Why [`validate`] refused a payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// The version has no such action (or, for a response, no such CALL).
    #[error("unknown action")]
    UnknownAction,
    /// The payload breaks the action's schema.
    #[error("{message} (at {path:?})")]
    Invalid {
        kind: ViolationKind,
        /// JSON Pointer to the offending value (`""` is the payload itself).
        path: String,
        message: String,
    },
}

impl Violation {
    /// The CALLERROR code to answer with; `NotImplemented` for an unknown action.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownAction => ErrorCode::NotImplemented,
            Self::Invalid { kind, .. } => kind.code(),
        }
    }
}

impl From<Violation> for CallError {
    fn from(violation: Violation) -> Self {
        let code = violation.code();
        match violation {
            Violation::UnknownAction => CallError::new(code, "unknown action"),
            Violation::Invalid { path, message, .. } => {
                let mut details = Map::new();
                details.insert("path".into(), Value::String(path));
                CallError {
                    code,
                    description: message,
                    details: Value::Object(details),
                }
            }
        }
    }
}

/// Judges `payload` against the official schema of `action`'s request or response.
pub fn validate(
    version: OcppVersion,
    action: &str,
    kind: MessageKind,
    payload: &Value,
) -> Result<(), Violation> {
    let message = find(version, action, kind).ok_or(Violation::UnknownAction)?;
    let Value::Object(map) = payload else {
        return Err(invalid(
            ViolationKind::NotAnObject,
            "",
            "payload is not a JSON object".into(),
        ));
    };
    let mut walker = Walker {
        draft4: message.draft4,
        path: String::new(),
    };
    walker.object(message.root, map)
}

/// Every message of `version`, sorted by action then kind.
pub(crate) fn messages(version: OcppVersion) -> &'static [Message] {
    match version {
        OcppVersion::V16 => generated::v16_schema::MESSAGES,
        OcppVersion::V201 => generated::v201_schema::MESSAGES,
        OcppVersion::V21 => generated::v21_schema::MESSAGES,
    }
}

fn find(version: OcppVersion, action: &str, kind: MessageKind) -> Option<&'static Message> {
    let all = messages(version);
    let kind_rank = |k: MessageKind| matches!(k, MessageKind::Response);
    all.binary_search_by(|m| (m.action, kind_rank(m.kind)).cmp(&(action, kind_rank(kind))))
        .ok()
        .map(|i| &all[i])
}

fn invalid(kind: ViolationKind, path: &str, message: String) -> Violation {
    Violation::Invalid {
        kind,
        path: path.to_owned(),
        message,
    }
}

struct Walker {
    draft4: bool,
    /// JSON Pointer of the value being checked.
    path: String,
}

impl Walker {
    fn fail(&self, kind: ViolationKind, message: String) -> Result<(), Violation> {
        Err(invalid(kind, &self.path, message))
    }

    /// Runs `f` with `segment` appended to the path (escaped as JSON Pointer requires).
    fn at<F>(&mut self, segment: &str, f: F) -> Result<(), Violation>
    where
        F: FnOnce(&mut Self) -> Result<(), Violation>,
    {
        let len = self.path.len();
        self.path.push('/');
        self.path
            .push_str(&segment.replace('~', "~0").replace('/', "~1"));
        let result = f(self);
        self.path.truncate(len);
        result
    }

    fn object(&mut self, schema: &Object, map: &Map<String, Value>) -> Result<(), Violation> {
        for name in schema.required {
            if !map.contains_key(*name) {
                return self.fail(
                    ViolationKind::Required,
                    format!("required property {name:?} is missing"),
                );
            }
        }
        for property in schema.properties {
            if let Some(value) = map.get(property.name) {
                self.at(property.name, |w| w.node(&property.node, value))?;
            }
        }
        if !schema.additional {
            for name in map.keys() {
                if !schema.properties.iter().any(|p| p.name == name) {
                    return self.fail(
                        ViolationKind::AdditionalProperty,
                        format!("property {name:?} is not allowed here"),
                    );
                }
            }
        }
        Ok(())
    }

    fn node(&mut self, node: &Node, value: &Value) -> Result<(), Violation> {
        match node {
            Node::Any => Ok(()),
            Node::Boolean => match value {
                Value::Bool(_) => Ok(()),
                _ => self.wrong_type("a boolean", value),
            },
            Node::Integer(bounds) => match value {
                Value::Number(n) if self.is_integer(n) => self.bounds(bounds, n),
                _ => self.wrong_type("an integer", value),
            },
            Node::Number(bounds) => match value {
                Value::Number(n) => self.bounds(bounds, n),
                _ => self.wrong_type("a number", value),
            },
            Node::String {
                min_len,
                max_len,
                format,
            } => {
                let Value::String(s) = value else {
                    return self.wrong_type("a string", value);
                };
                let len = s.chars().count();
                if let Some(max) = max_len.filter(|max| len > *max) {
                    return self.fail(
                        ViolationKind::MaxLength,
                        format!("string of {len} characters is longer than {max}"),
                    );
                }
                if let Some(min) = min_len.filter(|min| len < *min) {
                    return self.fail(
                        ViolationKind::MinLength,
                        format!("string of {len} characters is shorter than {min}"),
                    );
                }
                match format {
                    Some(Format::DateTime) if !is_date_time(s) => self.fail(
                        ViolationKind::Format,
                        format!("{s:?} is not an RFC 3339 date-time"),
                    ),
                    Some(Format::Uri) if !is_uri(s) => {
                        self.fail(ViolationKind::Format, format!("{s:?} is not a URI"))
                    }
                    _ => Ok(()),
                }
            }
            Node::Enum(values) => {
                let Value::String(s) = value else {
                    return self.wrong_type("a string", value);
                };
                if values.contains(&s.as_str()) {
                    Ok(())
                } else {
                    self.fail(
                        ViolationKind::Enum,
                        format!("{s:?} is not one of {}", values.join(", ")),
                    )
                }
            }
            Node::Array {
                items,
                min_items,
                max_items,
            } => {
                let Value::Array(array) = value else {
                    return self.wrong_type("an array", value);
                };
                if let Some(min) = min_items.filter(|min| array.len() < *min) {
                    return self.fail(
                        ViolationKind::MinItems,
                        format!("array of {} items has fewer than {min}", array.len()),
                    );
                }
                if let Some(max) = max_items.filter(|max| array.len() > *max) {
                    return self.fail(
                        ViolationKind::MaxItems,
                        format!("array of {} items has more than {max}", array.len()),
                    );
                }
                let mut index = String::new();
                for (i, item) in array.iter().enumerate() {
                    index.clear();
                    // Writing to a String cannot fail.
                    let _ = write!(index, "{i}");
                    self.at(&index, |w| w.node(items, item))?;
                }
                Ok(())
            }
            Node::Object(schema) => match value {
                Value::Object(map) => self.object(schema, map),
                _ => self.wrong_type("an object", value),
            },
        }
    }

    fn wrong_type(&self, expected: &str, value: &Value) -> Result<(), Violation> {
        let found = match value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(n) if n.is_f64() => "a number with a fraction",
            Value::Number(_) => "an integer",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        self.fail(
            ViolationKind::Type,
            format!("expected {expected}, found {found}"),
        )
    }

    fn is_integer(&self, n: &serde_json::Number) -> bool {
        if n.is_i64() || n.is_u64() {
            return true;
        }
        if self.draft4 {
            return false;
        }
        // A number beyond f64 (`1e400`) is not taken for an integer, as validators do.
        n.as_f64().is_some_and(|f| f.fract() == 0.0)
    }

    fn bounds(&self, bounds: &Bounds, n: &serde_json::Number) -> Result<(), Violation> {
        if let Some(min) = bounds.minimum
            && compare(n, min).is_lt()
        {
            return self.fail(ViolationKind::Minimum, format!("{n} is less than {min}"));
        }
        if let Some(max) = bounds.maximum
            && compare(n, max).is_gt()
        {
            return self.fail(ViolationKind::Maximum, format!("{n} is more than {max}"));
        }
        if let Some(multiple) = bounds.multiple_of
            && !is_multiple_of(n, multiple)
        {
            return self.fail(
                ViolationKind::MultipleOf,
                format!("{n} is not a multiple of {multiple}"),
            );
        }
        Ok(())
    }
}

/// Orders a JSON number against a schema bound without losing integer precision.
fn compare(n: &serde_json::Number, bound: f64) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    // Integers within ±2^53 and every f64 compare exactly as f64; larger integers are
    // compared as i128 against the (integral) bound.
    let exact = |i: i128| {
        if bound.fract() == 0.0 && bound.abs() < 1e38 {
            i.cmp(&(bound as i128))
        } else {
            (i as f64).partial_cmp(&bound).unwrap_or(Ordering::Equal)
        }
    };
    if let Some(i) = n.as_i64() {
        exact(i128::from(i))
    } else if let Some(u) = n.as_u64() {
        exact(i128::from(u))
    } else {
        match n.as_f64() {
            Some(f) => f.partial_cmp(&bound).unwrap_or(Ordering::Equal),
            // Too large for f64 (`1e400`): beyond any bound, on the side of its sign.
            None if n.to_string().starts_with('-') => Ordering::Less,
            None => Ordering::Greater,
        }
    }
}

/// `multipleOf`, decided on decimals: a value is read as the shortest decimal that denotes
/// its f64 (what the sender wrote, for any sane number), the divisor likewise, and the
/// division is exact. Values too large or small for that fall back to binary arithmetic.
fn is_multiple_of(n: &serde_json::Number, multiple: f64) -> bool {
    let value = if let Some(i) = n.as_i64() {
        Some((i128::from(i), 0))
    } else if let Some(u) = n.as_u64() {
        Some((i128::from(u), 0))
    } else {
        n.as_f64().and_then(decimal_parts)
    };
    let Some(value) = value else {
        return false;
    };
    match (value, decimal_parts(multiple)) {
        (_, Some((0, _))) | (_, None) => false,
        ((0, _), _) => true,
        ((v, v_dec), Some((m, m_dec))) => {
            // v·10^-v_dec / (m·10^-m_dec) is an integer ⇔ v·10^m_dec divisible by m·10^v_dec.
            let shared = v_dec.min(m_dec);
            let scale = |x: i128, places: i32| {
                u32::try_from(places - shared)
                    .ok()
                    .and_then(|p| 10_i128.checked_pow(p))
                    .and_then(|f| x.checked_mul(f))
            };
            match (scale(v, m_dec), scale(m, v_dec)) {
                (Some(a), Some(b)) => a % b == 0,
                _ => n.as_f64().is_some_and(|f| (f / multiple).fract() == 0.0),
            }
        }
    }
}

/// `f` as (mantissa, decimal places) of its shortest round-trip decimal form.
fn decimal_parts(f: f64) -> Option<(i128, i32)> {
    if !f.is_finite() {
        return None;
    }
    // `{:e}` prints the shortest digits that read back as `f`, e.g. `1.63e1`.
    let text = format!("{f:e}");
    let (mantissa, exponent) = text.split_once('e')?;
    let exponent: i32 = exponent.parse().ok()?;
    let negative = mantissa.starts_with('-');
    let digits = mantissa.trim_start_matches('-');
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut value: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    let places = i32::try_from(frac.len()).ok()? - exponent;
    Some((if negative { -value } else { value }, places))
}

/// RFC 3339 `date-time`: `YYYY-MM-DD` `T` `HH:MM:SS[.frac]` and `Z` or `±HH:MM`; a leap
/// second (`:60`) only where the time is 23:59 in UTC.
pub(crate) fn is_date_time(s: &str) -> bool {
    let Some(t) = s.find(['T', 't']) else {
        return false;
    };
    is_date(&s[..t]) && is_time(&s[t + 1..])
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (
        s.get(0..4).and_then(digits),
        s.get(5..7).and_then(digits),
        s.get(8..10).and_then(digits),
    ) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 9 || b[2] != b':' || b[5] != b':' {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) = (
        s.get(0..2).and_then(digits),
        s.get(3..5).and_then(digits),
        s.get(6..8).and_then(digits),
    ) else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut rest = &s[8..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    // Minutes east of UTC.
    let offset: i32 = match rest.as_bytes().first() {
        Some(b'Z' | b'z') if rest.len() == 1 => 0,
        Some(sign @ (b'+' | b'-')) if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let (Some(h), Some(m)) = (
                rest.get(1..3).and_then(digits),
                rest.get(4..6).and_then(digits),
            ) else {
                return false;
            };
            if h > 23 || m > 59 {
                return false;
            }
            let minutes = (h * 60 + m) as i32;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return false,
    };
    if second == 60 {
        let utc = ((hour * 60 + minute) as i32 - offset).rem_euclid(24 * 60);
        return utc == 23 * 60 + 59;
    }
    true
}

/// RFC 3986 absolute URI: a scheme, `:`, then only characters a URI may hold (percent
/// escapes well formed, at most one `#`).
pub(crate) fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return false;
    }
    let b = rest.as_bytes();
    let mut i = 0;
    let mut fragment = false;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
                {
                    return false;
                }
                i += 3;
                continue;
            }
            b'#' if fragment => return false,
            b'#' => fragment = true,
            c if c.is_ascii_alphanumeric() => {}
            b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+'
            | b',' | b';' | b'=' | b':' | b'@' | b'/' | b'?' | b'[' | b']' => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests;
