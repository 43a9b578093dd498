//! What a simulation run is made of: the CSMS to talk to, how many chargers, which protocol
//! versions in which ratio, and the shape every charger shares (hardware, timing, tokens).

use std::time::Duration;

use ampere_ocpp::OcppVersion;

/// One simulation run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The CSMS endpoint without the identity, e.g. `ws://127.0.0.1:8180/ocpp`; each charger
    /// connects to `{url}/{identity}`.
    pub url: String,
    /// How many chargers to run.
    pub chargers: u32,
    /// Which version each charger speaks.
    pub versions: VersionMix,
    /// Identities are `{id_prefix}-00001`, `{id_prefix}-00002`, …
    pub id_prefix: String,
    /// HTTP Basic auth password (user name = identity); `{id}` in it is replaced by the
    /// identity (a password per charger); `None` sends no credentials.
    pub password: Option<String>,
    /// New connections opened per second at start (a real network does not power up in
    /// one instant, and a CSMS's accept queue is finite).
    pub connect_rate: u32,
    /// Seed for every random choice, so a run can be repeated.
    pub seed: u64,
    /// The shape every charger shares.
    pub profile: ChargerProfile,
}

/// Hardware, firmware and behaviour that all simulated chargers share.
#[derive(Debug, Clone)]
pub struct ChargerProfile {
    pub vendor: String,
    pub model: String,
    pub firmware_version: String,
    /// EVSEs per charger. In 1.6 every connector is its own EVSE (1.6 has no EVSE level),
    /// so a 1.6 charger has `evses × connectors_per_evse` connectors numbered from 1.
    pub evses: u32,
    pub connectors_per_evse: u32,
    /// Most power one EVSE delivers, in W.
    pub max_power_w: f64,
    /// Id tokens the simulated drivers present; the CSMS must know them to let them charge.
    pub id_tokens: Vec<String>,
    /// Mean idle time of a connector between two sessions.
    pub session_interval: Duration,
    /// Mean length of a session (it also ends earlier when the battery is full).
    pub session_duration: Duration,
    /// Meter values interval until the CSMS configures another one.
    pub meter_interval: Duration,
    /// Heartbeat interval until the CSMS gives one at boot.
    pub heartbeat_interval: Duration,
    /// How long a CSMS may take to answer a call before the connection is given up.
    pub call_timeout: Duration,
    /// How long a reboot (after a Reset) takes before the charger connects again.
    pub reboot_delay: Duration,
    /// Reconnect backoff: first delay and cap (exponential with full jitter in between).
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Faults on demand (none by default).
    pub faults: crate::faults::Faults,
    /// TLS for `wss://` URLs and `https://` file locations: trusted CAs and the client
    /// certificate (built with [`crate::tls::client_config`]); `None` uses the system CAs.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// How logs are uploaded to the location the CSMS gives.
    pub upload_method: crate::http::UploadMethod,
    /// Pause between firmware install steps (Installing → InstallRebooting → reboot).
    pub install_step: Duration,
}

impl Default for ChargerProfile {
    fn default() -> Self {
        Self {
            vendor: "Ampere".into(),
            model: "SimCharger".into(),
            firmware_version: concat!("ampere-sim-", env!("CARGO_PKG_VERSION")).into(),
            evses: 1,
            connectors_per_evse: 1,
            max_power_w: 22_000.0,
            id_tokens: vec!["SIMTOKEN".into()],
            session_interval: Duration::from_secs(60),
            session_duration: Duration::from_secs(600),
            meter_interval: Duration::from_secs(60),
            heartbeat_interval: Duration::from_secs(300),
            call_timeout: Duration::from_secs(30),
            reboot_delay: Duration::from_secs(2),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            faults: crate::faults::Faults::default(),
            tls: None,
            upload_method: crate::http::UploadMethod::Post,
            install_step: Duration::from_secs(1),
        }
    }
}

/// How the chargers of a run are spread over the protocol versions.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionMix {
    /// (version, weight); weights need not add up to anything in particular.
    weights: Vec<(OcppVersion, u32)>,
}

/// A `--version` or `--mix` text that could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct MixError(String);

impl VersionMix {
    /// Every charger speaks `version`.
    pub fn single(version: OcppVersion) -> Self {
        Self {
            weights: vec![(version, 1)],
        }
    }

    /// Reads `1.6`, `2.0.1`, `2.1`, `mix` (equal thirds) or ratios such as
    /// `1.6=50,2.0.1=30,2.1=20`.
    pub fn parse(text: &str) -> Result<Self, MixError> {
        let text = text.trim();
        if text == "mix" {
            return Ok(Self {
                weights: OcppVersion::NEWEST_FIRST
                    .iter()
                    .rev()
                    .map(|v| (*v, 1))
                    .collect(),
            });
        }
        if !text.contains('=') {
            return parse_version(text).map(Self::single);
        }
        let mut weights = Vec::new();
        for part in text.split(',') {
            let (version, weight) = part
                .split_once('=')
                .ok_or_else(|| MixError(format!("`{part}` is not VERSION=WEIGHT")))?;
            let version = parse_version(version.trim())?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| MixError(format!("`{weight}` is not a whole number")))?;
            if weights.iter().any(|(v, _)| *v == version) {
                return Err(MixError(format!("version {version} is named twice")));
            }
            if weight > 0 {
                weights.push((version, weight));
            }
        }
        if weights.is_empty() {
            return Err(MixError("the mix gives no charger a version".into()));
        }
        Ok(Self { weights })
    }

    /// The version of charger `index` (0-based) of `count`.
    ///
    /// Deterministic and exact: charger `i` takes the version whose share of the cumulative
    /// weights covers the middle of its slot, so 10 chargers at `1.6=50,2.0.1=30,2.1=20` are
    /// exactly 5, 3 and 2.
    pub fn version_for(&self, index: u32, count: u32) -> OcppVersion {
        let total: u64 = self.weights.iter().map(|(_, w)| u64::from(*w)).sum();
        // Position of the slot's middle, scaled to `total * 2 * count` to stay in integers.
        let position = (2 * u64::from(index) + 1) * total;
        let scale = 2 * u64::from(count.max(1));
        let mut cumulative = 0;
        for (version, weight) in &self.weights {
            cumulative += u64::from(*weight);
            if position < cumulative * scale {
                return *version;
            }
        }
        // Only reached when index >= count; the last version is as good as any.
        self.weights
            .last()
            .map(|(v, _)| *v)
            .unwrap_or(OcppVersion::V16)
    }
}

fn parse_version(text: &str) -> Result<OcppVersion, MixError> {
    match text {
        "1.6" => Ok(OcppVersion::V16),
        "2.0.1" => Ok(OcppVersion::V201),
        "2.1" => Ok(OcppVersion::V21),
        other => Err(MixError(format!(
            "unknown OCPP version `{other}` (expected 1.6, 2.0.1, 2.1 or mix)"
        ))),
    }
}

/// The identity of charger `index` (0-based): `SIM-00001` for index 0 with prefix `SIM`.
pub fn charger_identity(prefix: &str, index: u32) -> String {
    format!("{prefix}-{:05}", u64::from(index) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(mix: &VersionMix, n: u32) -> [u32; 3] {
        let mut counts = [0; 3];
        for i in 0..n {
            counts[match mix.version_for(i, n) {
                OcppVersion::V16 => 0,
                OcppVersion::V201 => 1,
                OcppVersion::V21 => 2,
            }] += 1;
        }
        counts
    }

    #[test]
    fn ratios_are_exact_and_spread() {
        let mix = VersionMix::parse("1.6=50,2.0.1=30,2.1=20").unwrap();
        assert_eq!(count(&mix, 10), [5, 3, 2]);
        assert_eq!(count(&mix, 1000), [500, 300, 200]);
        let thirds = VersionMix::parse("mix").unwrap();
        assert_eq!(count(&thirds, 20), [7, 6, 7]);
        assert_eq!(count(&thirds, 3), [1, 1, 1]);
    }

    #[test]
    fn single_versions_and_errors() {
        assert_eq!(
            VersionMix::parse("2.0.1").unwrap(),
            VersionMix::single(OcppVersion::V201)
        );
        assert_eq!(count(&VersionMix::parse("2.1").unwrap(), 4), [0, 0, 4]);
        assert_eq!(
            count(&VersionMix::parse("1.6=1,2.1=0").unwrap(), 4),
            [4, 0, 0]
        );
        assert!(VersionMix::parse("2.0").is_err());
        assert!(VersionMix::parse("1.6=x").is_err());
        assert!(VersionMix::parse("1.6=0").is_err());
        assert!(VersionMix::parse("1.6=1,1.6=2").is_err());
    }

    #[test]
    fn identities_are_numbered_from_one() {
        assert_eq!(charger_identity("SIM", 0), "SIM-00001");
        assert_eq!(charger_identity("LAB", 41), "LAB-00042");
        assert_eq!(charger_identity("SIM", 123_455), "SIM-123456");
    }
}
