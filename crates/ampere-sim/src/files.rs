//! Firmware updates and log uploads, done for real over HTTP(S): UpdateFirmware (1.6 and
//! 2.x, signed or not) downloads the image from the location given, reports Downloading →
//! Downloaded (→ SignatureVerified) → Installing (→ InstallRebooting), reboots into the new
//! version and reports Installed after its next boot. GetDiagnostics / GetLog upload a
//! generated log file to the location given and report Uploading → Uploaded.
//!
//! A transfer runs in a task of its own (the charger keeps answering the CSMS meanwhile);
//! its progress comes back to the charger's task as effects.

use std::sync::Arc;
use std::time::Duration;

use ampere_ocpp::{CallError, OcppVersion};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::UnboundedSender;

use crate::http::UploadMethod;
use crate::model::{Effect, Station};

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Firmware {
        /// A signature came with it (reported as SignatureVerified).
        signed: bool,
        /// 2.x and signed 1.6 report InstallRebooting before the reboot.
        announce_reboot: bool,
    },
    Upload {
        file_name: String,
        content: Bytes,
        failed_status: &'static str,
    },
}

/// One firmware download or log upload.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub kind: Kind,
    pub location: String,
    pub request_id: Option<i64>,
    /// The notification that reports its progress.
    pub status_action: &'static str,
    pub retries: u32,
    pub retry_interval: Duration,
    /// Not before this (UpdateFirmware's retrieve date).
    pub start_at: Option<DateTime<Utc>>,
}

impl Transfer {
    fn status(&self, status: &str) -> Effect {
        Effect::Send {
            action: self.status_action,
            payload: self.status_payload(status),
        }
    }

    fn status_payload(&self, status: &str) -> Value {
        match self.request_id {
            Some(id) => json!({"status": status, "requestId": id}),
            None => json!({ "status": status }),
        }
    }
}

fn retries(p: &Value) -> (u32, Duration) {
    (
        p["retries"].as_u64().unwrap_or(1).min(5) as u32,
        Duration::from_secs(p["retryInterval"].as_u64().unwrap_or(5).min(600)),
    )
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

pub(crate) fn answer(st: &mut Station, action: &str, p: &Value) -> Result<Value, CallError> {
    let v16 = st.version == OcppVersion::V16;
    let (retries, retry_interval) = retries(p);
    let answer = match action {
        "UpdateFirmware" if v16 => {
            st.effects.push_back(Effect::Transfer(Transfer {
                kind: Kind::Firmware {
                    signed: false,
                    announce_reboot: false,
                },
                location: p["location"].as_str().unwrap_or_default().to_owned(),
                request_id: None,
                status_action: "FirmwareStatusNotification",
                retries,
                retry_interval,
                start_at: time(&p["retrieveDate"]),
            }));
            json!({})
        }
        // 1.6 SignedUpdateFirmware and 2.x UpdateFirmware carry the same `firmware` object.
        "UpdateFirmware" | "SignedUpdateFirmware" => {
            let firmware = &p["firmware"];
            st.effects.push_back(Effect::Transfer(Transfer {
                kind: Kind::Firmware {
                    signed: firmware["signature"].is_string(),
                    announce_reboot: true,
                },
                location: firmware["location"].as_str().unwrap_or_default().to_owned(),
                request_id: p["requestId"].as_i64(),
                status_action: if v16 {
                    "SignedFirmwareStatusNotification"
                } else {
                    "FirmwareStatusNotification"
                },
                retries,
                retry_interval,
                start_at: time(&firmware["retrieveDateTime"]),
            }));
            json!({"status": "Accepted"})
        }
        "GetDiagnostics" => {
            let file_name = file_name(st, "diagnostics");
            st.effects.push_back(Effect::Transfer(Transfer {
                kind: Kind::Upload {
                    file_name: file_name.clone(),
                    content: log_file(st, "diagnostics"),
                    failed_status: "UploadFailed",
                },
                location: p["location"].as_str().unwrap_or_default().to_owned(),
                request_id: None,
                status_action: "DiagnosticsStatusNotification",
                retries,
                retry_interval,
                start_at: None,
            }));
            json!({ "fileName": file_name })
        }
        // GetLog (1.6 security whitepaper and 2.x).
        _ => {
            let kind = if p["logType"] == "SecurityLog" {
                "security"
            } else {
                "diagnostics"
            };
            let file_name = file_name(st, kind);
            st.effects.push_back(Effect::Transfer(Transfer {
                kind: Kind::Upload {
                    file_name: file_name.clone(),
                    content: log_file(st, kind),
                    failed_status: "UploadFailure",
                },
                location: p["log"]["remoteLocation"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                request_id: p["requestId"].as_i64(),
                status_action: "LogStatusNotification",
                retries,
                retry_interval,
                start_at: None,
            }));
            json!({"status": "Accepted", "filename": file_name})
        }
    };
    Ok(answer)
}

fn file_name(st: &Station, kind: &str) -> String {
    let name = format!("{}-{kind}-{}.log", st.id, st.now().format("%Y%m%dT%H%M%SZ"));
    name.chars().take(255).collect()
}

/// A plausible log: who the charger is and what its connectors are doing.
fn log_file(st: &Station, kind: &str) -> Bytes {
    let mut text = format!(
        "# ampere-sim {kind} log\ncharger {}\nprotocol {}\nvendor {} model {} firmware {}\n\
         generated {}\n",
        st.id,
        st.version.subprotocol(),
        st.profile.vendor,
        st.profile.model,
        st.firmware_version,
        st.now().to_rfc3339(),
    );
    for e in &st.evses {
        text.push_str(&format!(
            "evse {} state {:?} register {:.0} Wh session {}\n",
            e.id,
            e.state,
            e.register_wh,
            e.session.is_some()
        ));
    }
    Bytes::from(text)
}

/// Where a transfer reports to, and how it reaches its server.
pub(crate) struct Context {
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub upload_method: UploadMethod,
    pub progress: UnboundedSender<Effect>,
    /// Pause between install steps (a real install takes minutes; tests want ms).
    pub install_step: Duration,
}

/// Runs a transfer to its end, reporting each step.
pub(crate) async fn run(transfer: Transfer, cx: Context) {
    let report = |effect: Effect| {
        // The charger may be gone (end of run): nobody to report to.
        let _ = cx.progress.send(effect);
    };
    if let Some(at) = transfer.start_at
        && let Ok(wait) = (at - Utc::now()).to_std()
    {
        tokio::time::sleep(wait.min(Duration::from_secs(86_400))).await;
    }
    match &transfer.kind {
        Kind::Firmware {
            signed,
            announce_reboot,
        } => {
            report(transfer.status("Downloading"));
            let mut attempt = 0;
            let image = loop {
                match crate::http::get(&transfer.location, cx.tls.as_ref()).await {
                    Ok(image) => break Some(image),
                    Err(error) if attempt < transfer.retries => {
                        tracing::info!(%error, "firmware download failed; retrying");
                        attempt += 1;
                        tokio::time::sleep(transfer.retry_interval).await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "firmware download failed");
                        break None;
                    }
                }
            };
            let Some(image) = image else {
                report(transfer.status("DownloadFailed"));
                return;
            };
            report(transfer.status("Downloaded"));
            if *signed {
                report(transfer.status("SignatureVerified"));
            }
            tokio::time::sleep(cx.install_step).await;
            report(transfer.status("Installing"));
            tokio::time::sleep(cx.install_step).await;
            if *announce_reboot {
                report(transfer.status("InstallRebooting"));
            }
            let digest = Sha256::digest(&image);
            let version = format!(
                "fw-{:02x}{:02x}{:02x}{:02x}",
                digest[0], digest[1], digest[2], digest[3]
            );
            report(Effect::FirmwareInstalled {
                notice: Some((transfer.status_action, transfer.status_payload("Installed"))),
                version,
            });
        }
        Kind::Upload {
            file_name,
            content,
            failed_status,
        } => {
            report(transfer.status("Uploading"));
            let mut attempt = 0;
            loop {
                match crate::http::upload(
                    &transfer.location,
                    cx.upload_method,
                    file_name,
                    content.clone(),
                    cx.tls.as_ref(),
                )
                .await
                {
                    Ok(()) => {
                        report(transfer.status("Uploaded"));
                        return;
                    }
                    Err(error) if attempt < transfer.retries => {
                        tracing::info!(%error, "log upload failed; retrying");
                        attempt += 1;
                        tokio::time::sleep(transfer.retry_interval).await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "log upload failed");
                        report(transfer.status(failed_status));
                        return;
                    }
                }
            }
        }
    }
}
