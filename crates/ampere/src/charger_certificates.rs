//! Certificates for chargers, the binary's side: the signing worker that turns a charger's
//! accepted SignCertificate request into a certificate (the operator CA, or an external CA
//! through `--csr-hook`) and delivers it with CertificateSigned, and the renewal task that
//! asks a charger for a new request before its certificate expires.
//!
//! The OCPP handler only decides and queues (see `ampere_domain::certificates`); the work
//! runs here, in the background, so the charger has its `Accepted` answer before the
//! CertificateSigned call arrives (the 1.6 whitepaper and 2.0.1 A02/A03 order).

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use ampere_domain::Services;
use ampere_domain::certificates::{
    CertificateUse, CsrSigning, IssuedCertificate, SigningJob, SigningQueue,
};
use ampere_gateway::Commands;
use ampere_ocpp::{MessageKind, OcppVersion};

use crate::cert::{CsrParser, OperatorCa, SignedCertificate, describe_chain};
use crate::config::Config;

/// Accepted requests waiting for the worker; beyond this a request is refused (the charger
/// retries later) rather than queued without bound.
const QUEUE_LEN: usize = 256;
/// Longest an external CA hook may take.
const HOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// Who signs chargers' requests.
pub enum Signer {
    OperatorCa {
        ca: Arc<OperatorCa>,
        days: u32,
    },
    /// `sh -c COMMAND`: the CSR on stdin, the PEM chain on stdout.
    Hook {
        command: String,
    },
}

impl Signer {
    /// The signer the configuration names: the hook when given, else the operator CA when
    /// `--ca-cert/--ca-key` are given or `<data-dir>/pki` holds one, else none (requests
    /// are then refused).
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        if let Some(command) = &config.csr_hook {
            return Ok(Some(Self::Hook {
                command: command.clone(),
            }));
        }
        match (&config.ca_cert, &config.ca_key) {
            (Some(cert), Some(key)) => {
                let ca = OperatorCa::load(cert, key)
                    .context("cannot load the operator CA (--ca-cert/--ca-key)")?;
                Ok(Some(Self::OperatorCa {
                    ca: Arc::new(ca),
                    days: config.charger_cert_days,
                }))
            }
            _ => Ok(None),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::OperatorCa { days, .. } => format!("operator CA, {days} days"),
            Self::Hook { .. } => "external CA (--csr-hook)".into(),
        }
    }

    async fn sign(&self, job: &SigningJob) -> anyhow::Result<SignedCertificate> {
        match self {
            Self::OperatorCa { ca, days } => {
                let (ca, days, csr) = (ca.clone(), *days, job.csr_pem.clone());
                tokio::task::spawn_blocking(move || ca.sign_csr(&csr, days)).await?
            }
            Self::Hook { command } => {
                let chain = run_hook(command, job).await?;
                describe_chain(&chain)
            }
        }
    }
}

async fn run_hook(command: &str, job: &SigningJob) -> anyhow::Result<String> {
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("AMPERE_CHARGER_ID", job.charger.as_str())
        .env("AMPERE_CERTIFICATE_TYPE", job.certificate_use.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the CSR hook")?;
    let mut stdin = child.stdin.take().context("hook stdin")?;
    stdin.write_all(job.csr_pem.as_bytes()).await?;
    drop(stdin);
    let output = tokio::time::timeout(HOOK_TIMEOUT, child.wait_with_output())
        .await
        .context("the CSR hook did not finish in time")??;
    if !output.status.success() {
        anyhow::bail!(
            "the CSR hook failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).context("the CSR hook printed no text")
}

/// The domain's queue, feeding the worker.
struct Queue(mpsc::Sender<SigningJob>);

impl SigningQueue for Queue {
    fn submit(&self, job: SigningJob) -> Result<(), String> {
        self.0
            .try_send(job)
            .map_err(|_| "too many certificate requests waiting; try again later".to_owned())
    }
}

/// The worker that signs and delivers accepted requests, waiting for the gateway's
/// `Commands` (the services must have their signing side before the router is built).
pub struct SigningWorker {
    signer: Signer,
    jobs: mpsc::Receiver<SigningJob>,
}

/// Gives the services a signing side; returns the worker to start once the gateway runs.
/// Without a signer the services stay as they are: requests are refused.
pub fn signing(
    services: &mut Services,
    signer: Option<Signer>,
    organisation: Option<String>,
) -> Option<SigningWorker> {
    let signer = signer?;
    let (sender, jobs) = mpsc::channel(QUEUE_LEN);
    services.certificates = services.certificates.clone().with_signing(CsrSigning {
        inspector: Arc::new(CsrParser),
        queue: Arc::new(Queue(sender)),
        organisation,
    });
    Some(SigningWorker { signer, jobs })
}

impl SigningWorker {
    pub fn start(self, services: Services, commands: Commands, shutdown: CancellationToken) {
        let Self { signer, mut jobs } = self;
        tokio::spawn(async move {
            loop {
                let job = tokio::select! {
                    () = shutdown.cancelled() => return,
                    job = jobs.recv() => match job { Some(job) => job, None => return },
                };
                // One at a time: signing is quick, and a charger's CertificateSigned waits
                // in its own command queue anyway.
                deliver(&services, &signer, &commands, job).await;
            }
        });
    }
}

async fn deliver(services: &Services, signer: &Signer, commands: &Commands, job: SigningJob) {
    let charger = &job.charger;
    let signed = match signer.sign(&job).await {
        Ok(signed) => signed,
        Err(error) => {
            tracing::error!(%charger, error = format!("{error:#}"), "cannot sign the charger's certificate request");
            return;
        }
    };
    let issued = IssuedCertificate {
        serial: signed.serial.clone(),
        charger: charger.clone(),
        certificate_use: job.certificate_use,
        not_before: signed.not_before,
        not_after: signed.not_after,
        issued_at: services.certificates.now(),
        certificate_pem: signed.chain_pem.clone(),
        delivery: "Sent".into(),
        renewal_requested_at: None,
    };
    if let Err(error) = services.certificates.record_issued(&issued).await {
        tracing::error!(%charger, %error, "cannot record the issued certificate");
        return;
    }
    let delivery = match send_certificate_signed(commands, &job, &signed.chain_pem).await {
        Ok(status) => status,
        Err(reason) => format!("Failed: {reason}"),
    };
    tracing::info!(%charger, serial = %signed.serial, not_after = %signed.not_after, %delivery, "certificate signed and sent");
    if let Err(error) = services
        .certificates
        .set_delivery(&signed.serial, &delivery)
        .await
    {
        tracing::error!(%charger, %error, "cannot record the certificate's delivery");
    }
}

/// Sends CertificateSigned in the charger's version; its `status`, or why there is none.
async fn send_certificate_signed(
    commands: &Commands,
    job: &SigningJob,
    chain: &str,
) -> Result<String, String> {
    let version = commands.is_online(&job.charger).ok_or("charger offline")?;
    let payload = match version {
        OcppVersion::V16 => json!({"certificateChain": chain}),
        OcppVersion::V201 | OcppVersion::V21 => json!({
            "certificateChain": chain,
            "certificateType": job.certificate_use.as_str(),
        }),
    };
    let answer = call(
        commands,
        &job.charger,
        version,
        "CertificateSigned",
        payload,
    )
    .await?;
    Ok(answer
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned())
}

/// A validated CSMS call whose answer is validated too.
async fn call(
    commands: &Commands,
    charger: &ampere_domain::ChargerId,
    version: OcppVersion,
    action: &str,
    payload: Value,
) -> Result<Value, String> {
    ampere_ocpp::validate(version, action, MessageKind::Request, &payload)
        .map_err(|e| format!("invalid {action}: {e}"))?;
    let answer = commands
        .call_raw(charger, action, payload)
        .await
        .map_err(|e| e.to_string())?;
    ampere_ocpp::validate(version, action, MessageKind::Response, &answer)
        .map_err(|e| format!("invalid {action} answer: {e}"))?;
    Ok(answer)
}

/// Every `interval`, asks each online charger whose certificate expires within
/// `renew_before` for a new certificate request (1.6 ExtendedTriggerMessage
/// SignChargePointCertificate, 2.x TriggerMessage SignChargingStationCertificate); the
/// answer to that request goes through SignCertificate as usual. Each certificate is asked
/// about once; an offline charger is asked at a later round.
pub fn start_renewals(
    services: Services,
    commands: Commands,
    renew_before: chrono::Duration,
    interval: Duration,
    shutdown: CancellationToken,
) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let due = match services.certificates.due_for_renewal(renew_before).await {
                Ok(due) => due,
                Err(error) => {
                    tracing::error!(%error, "cannot look for certificates to renew");
                    continue;
                }
            };
            for certificate in due {
                request_renewal(&services, &commands, &certificate).await;
            }
        }
    });
}

async fn request_renewal(
    services: &Services,
    commands: &Commands,
    certificate: &IssuedCertificate,
) {
    let charger = &certificate.charger;
    let Some(version) = commands.is_online(charger) else {
        return;
    };
    let (action, payload) = match (version, certificate.certificate_use) {
        (OcppVersion::V16, _) => (
            "ExtendedTriggerMessage",
            json!({"requestedMessage": "SignChargePointCertificate"}),
        ),
        (_, CertificateUse::ChargingStation) => (
            "TriggerMessage",
            json!({"requestedMessage": "SignChargingStationCertificate"}),
        ),
        (_, CertificateUse::V2g) => (
            "TriggerMessage",
            json!({"requestedMessage": "SignV2GCertificate"}),
        ),
    };
    match call(commands, charger, version, action, payload).await {
        Ok(answer) => {
            let status = answer.get("status").and_then(Value::as_str).unwrap_or("?");
            tracing::info!(%charger, serial = %certificate.serial, not_after = %certificate.not_after, %status, "certificate expires soon: asked the charger for a new certificate request");
            if let Err(error) = services
                .certificates
                .mark_renewal_requested(&certificate.serial)
                .await
            {
                tracing::error!(%charger, %error, "cannot record the renewal request");
            }
        }
        Err(reason) => {
            tracing::warn!(%charger, %reason, "cannot ask the charger to renew its certificate")
        }
    }
}
