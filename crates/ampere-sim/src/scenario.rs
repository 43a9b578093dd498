//! Scenario files: scripted chargers for repeatable runs, in TOML or JSON.
//!
//! A scenario lists groups of chargers; each group has a version, a count and the steps
//! every charger of the group runs in order (see `examples/scenarios/` and the crate
//! README for the format). Steps run inside the charger's own task, one after the other:
//! a step that makes the charger send something starts when the previous one's messages
//! are out, and `wait` / `meter` take time. The charger connects and boots when its script
//! starts (after any leading `wait`); its drivers come only from the script unless the
//! group sets `auto_sessions`.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

/// A whole scenario file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "group")]
    pub groups: Vec<Group>,
}

/// Chargers that share a version and a script.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Identities are `{id_prefix}-00001`…; default: the run's prefix.
    #[serde(default)]
    pub id_prefix: Option<String>,
    /// First number of this group's identities (so groups with one prefix do not collide).
    #[serde(default = "one")]
    pub first: u32,
    #[serde(default = "one")]
    pub count: u32,
    /// `1.6`, `2.0.1` or `2.1`.
    #[serde(default = "v16")]
    pub version: String,
    /// Let random drivers come too (as without a scenario).
    #[serde(default)]
    pub auto_sessions: bool,
    #[serde(default, rename = "step")]
    pub steps: Vec<Step>,
}

fn one() -> u32 {
    1
}

fn v16() -> String {
    "1.6".into()
}

fn first_evse() -> u32 {
    1
}

/// One step of a charger's script.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Do nothing for `seconds`.
    Wait {
        seconds: f64,
    },
    /// Connect and boot (what a charger does when its script starts; written for
    /// readability, it has no effect later).
    Connect,
    Boot,
    /// A cable goes in: the connector shows Preparing / Occupied.
    Plug {
        #[serde(default = "first_evse")]
        evse: u32,
        #[serde(default = "first_evse")]
        connector: u32,
    },
    /// The driver presents `id_token` (Authorize online, the local list offline).
    Authorize {
        id_token: String,
        #[serde(default = "first_evse")]
        evse: u32,
    },
    /// The transaction starts, with the token authorized on this EVSE (or `id_token`,
    /// authorized first).
    Start {
        #[serde(default = "first_evse")]
        evse: u32,
        #[serde(default)]
        id_token: Option<String>,
    },
    /// The car draws `kw` for `seconds` (the charging profile may hold it lower); meter
    /// values go out every meter interval meanwhile, and one at the end.
    Meter {
        #[serde(default = "first_evse")]
        evse: u32,
        seconds: f64,
        kw: f64,
    },
    /// The transaction stops: `Local` (default), `EvDisconnected`, `Remote`, …
    Stop {
        #[serde(default = "first_evse")]
        evse: u32,
        #[serde(default)]
        reason: Option<String>,
    },
    /// The connection goes down for `seconds`; later steps run meanwhile (transaction
    /// messages are queued), and it comes back by itself.
    Offline {
        seconds: f64,
    },
    /// Ends an offline period early.
    Online,
    /// `drop` (connection lost, reconnect with backoff), `storm` (every charger of the run
    /// drops at once), `reboot`, or a connector error code such as `GroundFailure`.
    Fault {
        kind: String,
        #[serde(default)]
        evse: Option<u32>,
    },
    /// The connector fault is gone.
    ClearFault,
}

/// Why a scenario file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: {1}")]
    Parse(String, String),
    #[error("{0}")]
    Invalid(String),
}

impl Scenario {
    /// Reads a `.toml` or `.json` file (by its extension; others are tried as TOML).
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| ScenarioError::Read(shown.clone(), e))?;
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        Self::parse(&text, json).map_err(|e| match e {
            ScenarioError::Parse(_, m) => ScenarioError::Parse(shown, m),
            other => other,
        })
    }

    /// Reads scenario text, JSON when `json`, else TOML, and checks it.
    pub fn parse(text: &str, json: bool) -> Result<Self, ScenarioError> {
        let scenario: Self = if json {
            // Through TOML's value type: serde_json here buffers numbers in a way the tagged
            // step enum cannot read (its arbitrary-precision feature is on in this build).
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| ScenarioError::Parse("JSON".into(), e.to_string()))?;
            to_toml(value)
                .try_into()
                .map_err(|e: toml::de::Error| ScenarioError::Parse("JSON".into(), e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| ScenarioError::Parse("TOML".into(), e.to_string()))?
        };
        scenario.check()?;
        Ok(scenario)
    }

    fn check(&self) -> Result<(), ScenarioError> {
        if self.groups.is_empty() {
            return Err(ScenarioError::Invalid(
                "the scenario has no [[group]]".into(),
            ));
        }
        for (i, group) in self.groups.iter().enumerate() {
            let at = format!("group {}", i + 1);
            crate::config::VersionMix::parse(&group.version)
                .map_err(|e| ScenarioError::Invalid(format!("{at}: {e}")))?;
            if group.count == 0 {
                return Err(ScenarioError::Invalid(format!(
                    "{at}: count must be at least 1"
                )));
            }
            for step in &group.steps {
                let seconds = match step {
                    Step::Wait { seconds } | Step::Offline { seconds } => Some(*seconds),
                    Step::Meter { seconds, kw, .. } => {
                        if !(kw.is_finite() && *kw >= 0.0) {
                            return Err(ScenarioError::Invalid(format!("{at}: kw must be ≥ 0")));
                        }
                        Some(*seconds)
                    }
                    _ => None,
                };
                if seconds.is_some_and(|s| !(0.0..1e7).contains(&s)) {
                    return Err(ScenarioError::Invalid(format!(
                        "{at}: seconds must be a number from 0 to 10^7"
                    )));
                }
            }
        }
        Ok(())
    }

    /// How many chargers the scenario runs.
    pub fn chargers(&self) -> u32 {
        self.groups.iter().map(|g| g.count).sum()
    }
}

fn to_toml(value: serde_json::Value) -> toml::Value {
    use serde_json::Value as J;
    match value {
        J::Bool(b) => toml::Value::Boolean(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => toml::Value::String(s),
        J::Array(items) => toml::Value::Array(items.into_iter().map(to_toml).collect()),
        J::Object(map) => toml::Value::Table(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, to_toml(v)))
                .collect(),
        ),
        // TOML has no null: an absent field means the same to the scenario.
        J::Null => toml::Value::String(String::new()),
    }
}

/// `seconds` as a duration (checked finite and non-negative when the scenario was read).
pub fn duration(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_read_the_same() {
        let toml = r#"
            name = "one session"
            [[group]]
            version = "2.0.1"
            count = 2
            step = [
              { do = "wait", seconds = 0.5 },
              { do = "plug" },
              { do = "authorize", id_token = "T1" },
              { do = "start" },
              { do = "meter", seconds = 3, kw = 7.4 },
              { do = "offline", seconds = 2 },
              { do = "stop", reason = "Local" },
              { do = "fault", kind = "GroundFailure" },
              { do = "clear_fault" },
            ]
        "#;
        let json = r#"{"name": "one session", "group": [{"version": "2.0.1", "count": 2, "step": [
            {"do": "wait", "seconds": 0.5}, {"do": "plug"}, {"do": "authorize", "id_token": "T1"},
            {"do": "start"}, {"do": "meter", "seconds": 3, "kw": 7.4},
            {"do": "offline", "seconds": 2}, {"do": "stop", "reason": "Local"},
            {"do": "fault", "kind": "GroundFailure"}, {"do": "clear_fault"}]}]}"#;
        let a = Scenario::parse(toml, false).unwrap();
        let b = Scenario::parse(json, true).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.chargers(), 2);
        assert_eq!(
            a.groups[0].steps[1],
            Step::Plug {
                evse: 1,
                connector: 1
            }
        );
    }

    #[test]
    fn mistakes_are_named() {
        let unknown = Scenario::parse("[[group]]\nstep = [{ do = \"fly\" }]", false);
        assert!(
            matches!(unknown, Err(ScenarioError::Parse(..))),
            "{unknown:?}"
        );
        let version = Scenario::parse("[[group]]\nversion = \"3.0\"", false);
        assert!(format!("{:?}", version.unwrap_err()).contains("3.0"));
        let negative =
            Scenario::parse("[[group]]\nstep = [{ do = \"wait\", seconds = -1 }]", false);
        assert!(matches!(negative, Err(ScenarioError::Invalid(_))));
        assert!(Scenario::parse("name = \"x\"", false).is_err());
    }

    #[test]
    fn the_committed_examples_read() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenarios");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("examples/scenarios") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml" || e == "json") {
                Scenario::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
        assert!(seen >= 2, "examples in {}", dir.display());
    }
}
