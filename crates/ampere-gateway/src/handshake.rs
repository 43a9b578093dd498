//! The HTTP side of a charger connection: read the upgrade request, decide who is calling
//! and whether they may, and answer `101 Switching Protocols` or an HTTP error.
//!
//! The request is read and answered here instead of in an HTTP framework so that a
//! connection costs nothing beyond its socket and WebSocket state once upgraded, and so that
//! the directory lookup and the password check can run (asynchronously, bounded) before the
//! answer is chosen.

use std::net::SocketAddr;
use std::sync::Arc;

use ampere_domain::ChargerId;
use ampere_ocpp::OcppVersion;
use argon2::{Argon2, PasswordHash, PasswordVerifier};
use base64::Engine as _;
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::handshake::server::{create_response, write_response};
use tokio_tungstenite::tungstenite::http::{self, HeaderMap, HeaderValue, Request, StatusCode};

use crate::config::{GatewayConfig, UnknownChargerPolicy};
use crate::deflate;
use crate::directory::{Admission, ChargerDirectory};
use crate::guard::AuthGuard;
use crate::registry::{AuthLevel, Registry};
use crate::security::{GatewaySecurityEvent, Reporter, SecurityEventKind};
use crate::verified::VerifiedPasswords;

/// Longest request head (request line and headers) accepted.
const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// Most headers accepted in a request.
const MAX_HEADERS: usize = 32;

/// A charger that may connect.
pub(crate) struct Admitted {
    pub(crate) charger_id: ChargerId,
    pub(crate) version: OcppVersion,
    pub(crate) known: bool,
    /// How the charger proved its identity.
    pub(crate) auth: AuthLevel,
    /// permessage-deflate was negotiated.
    pub(crate) deflate: bool,
    /// Bytes the client sent after the request head (WebSocket frames sent eagerly).
    pub(crate) leftover: Vec<u8>,
}

/// An HTTP error answer to an upgrade request. `detail` goes into the body and the log;
/// it never contains credentials.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) detail: String,
    /// Seconds for a `Retry-After` header (429 and 503).
    pub(crate) retry_after: Option<u64>,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// The full HTTP response, connection closed after it.
    pub(crate) fn to_http(&self) -> String {
        let extra = match self.status {
            StatusCode::UNAUTHORIZED => "WWW-Authenticate: Basic realm=\"ampere\"\r\n",
            StatusCode::UPGRADE_REQUIRED => "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n",
            StatusCode::METHOD_NOT_ALLOWED => "Allow: GET\r\n",
            _ => "",
        };
        let retry = match (self.retry_after, self.status) {
            (Some(secs), _) => format!("Retry-After: {secs}\r\n"),
            (None, StatusCode::SERVICE_UNAVAILABLE) => "Retry-After: 5\r\n".to_owned(),
            (None, _) => String::new(),
        };
        let body = format!("{}\n", self.detail);
        format!(
            "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n{extra}{retry}\r\n{body}",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or(""),
            body.len(),
        )
    }
}

/// Why a handshake ended without an answer: the client went away or sent garbage that is
/// not worth one.
#[derive(Debug)]
pub(crate) enum Abort {
    Io(std::io::Error),
    Closed,
}

/// What the transport under the request proved before the request was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Channel {
    /// Plain `ws://`: security profile 1 only.
    Plain,
    /// `wss://`. `client_identity` is the common name of the client certificate the charger
    /// presented and the TLS layer verified against the client CA, if any.
    Tls { client_identity: Option<String> },
}

/// What the handshake needs besides the socket.
pub(crate) struct HandshakeContext {
    pub(crate) config: Arc<GatewayConfig>,
    pub(crate) directory: Arc<dyn ChargerDirectory>,
    pub(crate) passwords: PasswordChecker,
    pub(crate) guard: AuthGuard,
    pub(crate) registry: Arc<Registry>,
    pub(crate) security: Arc<Reporter>,
}

/// Reads the upgrade request from `stream` and, when the charger may connect, writes the
/// `101` answer. A refusal is returned for the caller to send.
pub(crate) async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    ctx: &HandshakeContext,
    channel: &Channel,
    remote: SocketAddr,
) -> Result<Result<Admitted, Refusal>, Abort> {
    let malformed = |refusal: &Refusal| {
        ctx.security.report_throttled(
            GatewaySecurityEvent::new(SecurityEventKind::MalformedHandshake, remote)
                .with("status", refusal.status.as_u16())
                .with("reason", &refusal.detail),
        );
    };
    let (request, leftover) = match read_request(stream).await? {
        Ok(parsed) => parsed,
        Err(refusal) => {
            tracing::info!(status = refusal.status.as_u16(), detail = %refusal.detail, "malformed upgrade request");
            malformed(&refusal);
            return Ok(Err(refusal));
        }
    };
    let (charger_id, version, known, auth) = match admit(&request, ctx, channel, remote).await {
        Ok(admitted) => admitted,
        Err(refusal) => {
            tracing::info!(path = request.uri().path(), status = refusal.status.as_u16(), detail = %refusal.detail, "upgrade refused");
            if matches!(
                refusal.status,
                StatusCode::BAD_REQUEST
                    | StatusCode::METHOD_NOT_ALLOWED
                    | StatusCode::UPGRADE_REQUIRED
            ) {
                malformed(&refusal);
            }
            return Ok(Err(refusal));
        }
    };
    // `create_response` checks the WebSocket parts of the request (GET, HTTP/1.1,
    // Upgrade/Connection headers, version 13, a key) and computes the accept key.
    let mut response = match create_response(&request) {
        Ok(response) => response,
        Err(error) => {
            let refusal = Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("not a valid WebSocket upgrade: {error}"),
            );
            malformed(&refusal);
            return Ok(Err(refusal));
        }
    };
    // Only a valid upgrade of a charger that may connect meets a live session.
    if let Err(refusal) = resolve_duplicate(ctx, &charger_id, auth, remote).await {
        return Ok(Err(refusal));
    }
    let extensions = if ctx.config.permessage_deflate {
        deflate::negotiate(request.headers())
    } else {
        None
    };
    let admitted = Admitted {
        charger_id,
        version,
        known,
        auth,
        deflate: extensions.is_some(),
        leftover,
    };
    response.headers_mut().insert(
        http::header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(admitted.version.subprotocol()),
    );
    if let Some(extensions) = extensions {
        let value =
            HeaderValue::from_str(&extensions).map_err(|e| Abort::Io(std::io::Error::other(e)))?;
        response
            .headers_mut()
            .insert(http::header::SEC_WEBSOCKET_EXTENSIONS, value);
    }
    let mut head = Vec::with_capacity(256);
    write_response(&mut head, &response).map_err(|e| Abort::Io(std::io::Error::other(e)))?;
    stream.write_all(&head).await.map_err(Abort::Io)?;
    Ok(Ok(admitted))
}

/// Decides whether the request may become an OCPP connection: which charger, which
/// version, whether it is registered.
async fn admit(
    request: &Request<()>,
    ctx: &HandshakeContext,
    channel: &Channel,
    remote: SocketAddr,
) -> Result<(ChargerId, OcppVersion, bool, AuthLevel), Refusal> {
    if request.method() != http::Method::GET {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET upgrade requests are served here",
        ));
    }
    let headers = request.headers();
    if !header_has_token(headers, http::header::UPGRADE, "websocket") {
        return Err(Refusal::new(
            StatusCode::UPGRADE_REQUIRED,
            "this is an OCPP WebSocket endpoint",
        ));
    }
    let charger_id = identity_from_path(request.uri().path(), ctx.config.accept_any_path_prefix)?;
    let version = negotiate_version(headers).ok_or_else(|| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "no supported subprotocol offered (ocpp2.1, ocpp2.0.1, ocpp1.6)",
        )
    })?;

    // A verified client certificate names one charger: it is never good for another one,
    // whatever that charger's profile (a stolen or misissued certificate must not open a
    // second identity).
    if let Channel::Tls {
        client_identity: Some(name),
    } = channel
        && name != charger_id.as_str()
    {
        ctx.security.report(
            GatewaySecurityEvent::new(SecurityEventKind::CertificateRefused, remote)
                .charger(&charger_id)
                .with("reason", "the certificate names another charger")
                .with("certificate_name", name),
        );
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "the client certificate is not for this charger",
        ));
    }

    let registration = ctx.directory.lookup(&charger_id).await.map_err(|error| {
        tracing::error!(charger_id = %charger_id, %error, "charger lookup failed");
        Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "try again later")
    })?;
    let Some(auth) = registration else {
        return match ctx.config.unknown_chargers {
            UnknownChargerPolicy::Reject => {
                Err(Refusal::new(StatusCode::NOT_FOUND, "unknown charger"))
            }
            UnknownChargerPolicy::Pending | UnknownChargerPolicy::Accept => {
                Ok((charger_id, version, false, AuthLevel::None))
            }
        };
    };
    let pending = auth.pending_password_hash.is_some() || auth.pending_security_profile.is_some();
    let mut admission = Admission {
        tls: matches!(channel, Channel::Tls { .. }),
        client_certificate: matches!(
            channel,
            Channel::Tls {
                client_identity: Some(_)
            }
        ),
        pending_password: false,
    };
    match (channel, auth.security_profile) {
        (Channel::Plain, profile) if profile >= 2 => {
            ctx.security.report_throttled(
                GatewaySecurityEvent::new(SecurityEventKind::ProfileViolation, remote)
                    .charger(&charger_id)
                    .with("reason", "plain ws for a charger on a TLS profile")
                    .with("security_profile", profile),
            );
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                format!("charger uses security profile {profile}: connect over TLS"),
            ));
        }
        // Profile 3 authenticates with the certificate alone (its name was checked above);
        // a password, even the right one, is not enough.
        (Channel::Tls { client_identity }, profile) if profile >= 3 => {
            return match client_identity {
                Some(_) => Ok((charger_id, version, true, AuthLevel::Certificate)),
                None => Err(profile_violation(
                    ctx,
                    &charger_id,
                    remote,
                    "no client certificate for a profile 3 charger",
                    Refusal::new(
                        StatusCode::FORBIDDEN,
                        "charger uses security profile 3: a client certificate is required",
                    ),
                )),
            };
        }
        // A charger moving up to profile 3 proves itself with its certificate (its name
        // was checked above), as it will from then on.
        (
            Channel::Tls {
                client_identity: Some(_),
            },
            _,
        ) if auth.pending_security_profile == Some(3) => {
            ctx.directory.admitted(&charger_id, admission).await;
            return Ok((charger_id, version, true, AuthLevel::Certificate));
        }
        // Profiles 1 and 2 (profile 1 may use TLS: an upgrade is never refused).
        _ => {}
    }
    let has_password = auth.password_hash.is_some();
    if has_password {
        // A locked identity or address gets no password check at all: no argon2 work for a
        // brute-forcer, and even the right password waits for the lock to end.
        if let Err(locked) = ctx.guard.check(&charger_id, remote.ip()) {
            ctx.security.report_throttled(
                GatewaySecurityEvent::new(SecurityEventKind::LockedOutAttempt, remote)
                    .charger(&charger_id)
                    .with("scope", locked.scope.as_str())
                    .with("retry_after_s", locked.retry_after_secs),
            );
            return Err(Refusal {
                retry_after: Some(locked.retry_after_secs),
                ..Refusal::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many failed logins; try later",
                )
            });
        }
    }
    if let Some(hash) = auth.password_hash {
        let reason = failure_reason(headers, &charger_id);
        let unauthorized = || {
            login_failed(ctx, &charger_id, remote, reason);
            Refusal::new(StatusCode::UNAUTHORIZED, "authentication required")
        };
        let (user, password) = basic_credentials(headers).ok_or_else(unauthorized)?;
        if user != charger_id.as_str() {
            return Err(unauthorized());
        }
        if !ctx.passwords.verify(hash, password.clone()).await {
            // During a rotation the new password is valid too.
            let Some(pending_hash) = auth.pending_password_hash else {
                return Err(unauthorized());
            };
            if !ctx.passwords.verify(pending_hash, password).await {
                return Err(unauthorized());
            }
            admission.pending_password = true;
        }
    } else if let Some(pending_hash) = auth.pending_password_hash
        && let Some((user, password)) = basic_credentials(headers)
        && user == charger_id.as_str()
    {
        // No password is required yet; a login with the new one completes its rotation.
        admission.pending_password = ctx.passwords.verify(pending_hash, password).await;
    }
    if pending {
        ctx.directory.admitted(&charger_id, admission).await;
    }
    let level = match channel {
        Channel::Tls {
            client_identity: Some(_),
        } => AuthLevel::Certificate,
        Channel::Tls { .. } if has_password => AuthLevel::PasswordOverTls,
        Channel::Plain if has_password => AuthLevel::Password,
        _ => AuthLevel::None,
    };
    if has_password {
        ctx.guard.succeeded(&charger_id);
    }
    Ok((charger_id, version, true, level))
}

/// Why a password login will fail if it does: said in the security log, never with the
/// password.
fn failure_reason(headers: &HeaderMap, charger_id: &ChargerId) -> &'static str {
    match basic_credentials(headers) {
        None => "missing or unreadable Basic credentials",
        Some((user, _)) if user != charger_id.as_str() => "user name is not the charger identity",
        Some(_) => "wrong password",
    }
}

/// Counts a failed login against the identity and the address, and reports it and any lock
/// it started.
fn login_failed(ctx: &HandshakeContext, charger_id: &ChargerId, remote: SocketAddr, reason: &str) {
    ctx.security.report(
        GatewaySecurityEvent::new(SecurityEventKind::AuthenticationFailed, remote)
            .charger(charger_id)
            .with("reason", reason),
    );
    for lock in ctx.guard.failed(charger_id, remote.ip()) {
        tracing::warn!(charger_id = %charger_id, %remote, scope = lock.scope.as_str(), seconds = lock.duration.as_secs(), "too many failed logins: locked");
        ctx.security.report(
            GatewaySecurityEvent::new(SecurityEventKind::LockedOut, remote)
                .charger(charger_id)
                .with("scope", lock.scope.as_str())
                .with("duration_s", lock.duration.as_secs())
                .with("lock_in_a_row", lock.nth),
        );
    }
}

fn profile_violation(
    ctx: &HandshakeContext,
    charger_id: &ChargerId,
    remote: SocketAddr,
    reason: &str,
    refusal: Refusal,
) -> Refusal {
    ctx.security.report_throttled(
        GatewaySecurityEvent::new(SecurityEventKind::ProfileViolation, remote)
            .charger(charger_id)
            .with("reason", reason),
    );
    refusal
}

/// A second connection for a charger that has a live one. The rule:
/// - the live connection is probed first (a WebSocket ping, `duplicate_probe_timeout`);
///   one that does not answer is dead and is replaced by whoever proved the identity;
/// - a live one is replaced only by a connection that proved the identity at least as
///   strongly (same or stronger [`AuthLevel`], never [`AuthLevel::None`]): the charger came
///   back through its credentials, e.g. after a reboot its old TCP connection never saw;
/// - anything else (no credentials, or weaker ones) is refused with 409 and the live
///   connection is kept, so a stolen identity without the secret cannot knock the real
///   charger off.
///
/// OCPP 2.0.1 lets the CSMS close the old connection in favour of the new one; most
/// CSMSs do that whenever the new one authenticated, which is what the second rule keeps.
async fn resolve_duplicate(
    ctx: &HandshakeContext,
    charger_id: &ChargerId,
    auth: AuthLevel,
    remote: SocketAddr,
) -> Result<(), Refusal> {
    let Some(live) = ctx.registry.get(charger_id) else {
        return Ok(());
    };
    if !live.is_open() {
        return Ok(());
    }
    let answered = live.probe(ctx.config.duplicate_probe_timeout).await;
    let stronger_or_equal = auth != AuthLevel::None && auth >= live.auth;
    let resolution = match (answered, stronger_or_equal) {
        (_, true) => "replaced the live connection (credentials at least as strong)",
        (false, false) => "replaced the live connection (it did not answer a ping)",
        (true, false) => "refused (the live connection answered a ping)",
    };
    tracing::warn!(charger_id = %charger_id, %remote, live_remote = %live.info.remote_addr, answered, resolution, "duplicate connection");
    ctx.security.report(
        GatewaySecurityEvent::new(SecurityEventKind::DuplicateConnection, remote)
            .charger(charger_id)
            .with("resolution", resolution)
            .with("live_remote_addr", live.info.remote_addr)
            .with("live_answered_probe", answered)
            .with("new_auth", auth.as_str())
            .with("live_auth", live.auth.as_str()),
    );
    if answered && !stronger_or_equal {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "this charger is connected already",
        ));
    }
    Ok(())
}

/// Reads the request head; returns it with whatever followed it.
async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Result<(Request<()>, Vec<u8>), Refusal>, Abort> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        if buf.len() >= MAX_REQUEST_HEAD {
            return Ok(Err(Refusal::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "request head too large",
            )));
        }
        let len = buf.len();
        buf.resize((len + 1024).min(MAX_REQUEST_HEAD), 0);
        let n = stream.read(&mut buf[len..]).await.map_err(Abort::Io)?;
        buf.truncate(len + n);
        if n == 0 {
            return Err(Abort::Closed);
        }
        match parse_request(&buf) {
            Ok(Some((size, request))) => return Ok(Ok((request, buf.split_off(size)))),
            Ok(None) => continue,
            Err(refusal) => return Ok(Err(refusal)),
        }
    }
}

/// Parses a complete request head; `None` when more bytes are needed.
pub(crate) fn parse_request(buf: &[u8]) -> Result<Option<(usize, Request<()>)>, Refusal> {
    let bad = |detail: &str| Refusal::new(StatusCode::BAD_REQUEST, detail);
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let size = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(size)) => size,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Refusal::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "too many headers",
            ));
        }
        Err(_) => return Err(bad("malformed HTTP request")),
    };
    let mut builder = Request::builder()
        .method(parsed.method.unwrap_or("GET"))
        .uri(parsed.path.unwrap_or("/"))
        .version(match parsed.version {
            Some(0) => http::Version::HTTP_10,
            _ => http::Version::HTTP_11,
        });
    for header in parsed.headers.iter() {
        builder = builder.header(header.name, header.value);
    }
    let request = builder
        .body(())
        .map_err(|_| bad("malformed HTTP request"))?;
    Ok(Some((size, request)))
}

/// The charger identity named by `path`: `/ocpp/{identity}`, or with `any_prefix` the last
/// segment of any path. 404 when the path has no identity where one is expected, 400 when
/// the identity is invalid.
pub(crate) fn identity_from_path(path: &str, any_prefix: bool) -> Result<ChargerId, Refusal> {
    let not_found = || Refusal::new(StatusCode::NOT_FOUND, "expected /ocpp/{identity}");
    let segment = if any_prefix {
        path.rsplit_once('/').map(|(_, last)| last)
    } else {
        path.strip_prefix("/ocpp/")
            .filter(|rest| !rest.contains('/'))
    };
    let segment = segment.filter(|s| !s.is_empty()).ok_or_else(not_found)?;
    let decoded = percent_decode_str(segment).decode_utf8().map_err(|_| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "charger identity is not valid UTF-8",
        )
    })?;
    ChargerId::new(decoded.into_owned()).map_err(|error| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("invalid charger identity: {error}"),
        )
    })
}

/// The newest OCPP version among the subprotocols the client offers.
pub(crate) fn negotiate_version(headers: &HeaderMap) -> Option<OcppVersion> {
    let offered: Vec<OcppVersion> = headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|token| OcppVersion::from_subprotocol(token.trim()))
        .collect();
    OcppVersion::NEWEST_FIRST
        .into_iter()
        .find(|version| offered.contains(version))
}

/// User name and password of an `Authorization: Basic` header. The password stays bytes:
/// it is only ever compared by the hash verifier, never printed.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, Vec<u8>)> {
    let value = headers.get(http::header::AUTHORIZATION)?.as_bytes();
    let (scheme, encoded) = value.split_at(value.iter().position(|b| *b == b' ')?);
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim_ascii())
        .ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

fn header_has_token(headers: &HeaderMap, name: http::header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Verifies passwords against argon2 hashes on the blocking pool, a bounded number at once:
/// each verification takes tens of milliseconds of CPU and (by default) 19 MiB of memory,
/// and a reconnect storm must not starve the runtime or exhaust memory. A password that passed
/// before against the same stored hash is not checked again ([`VerifiedPasswords`]).
#[derive(Clone)]
pub(crate) struct PasswordChecker {
    permits: Arc<Semaphore>,
    verified: VerifiedPasswords,
}

impl PasswordChecker {
    pub(crate) fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            verified: VerifiedPasswords::default(),
        }
    }

    pub(crate) async fn verify(&self, phc_hash: String, password: Vec<u8>) -> bool {
        if self.verified.holds(&phc_hash, &password) {
            return true;
        }
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return false;
        };
        let verified = self.verified.clone();
        // The permit moves into the blocking task: if the handshake is abandoned (timeout)
        // the verification still counts against the bound until it has really finished.
        let verified = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            match PasswordHash::new(&phc_hash) {
                Ok(hash) => {
                    let ok = Argon2::default().verify_password(&password, &hash).is_ok();
                    if ok {
                        verified.remember(&phc_hash, &password);
                    }
                    ok
                }
                Err(error) => {
                    tracing::error!(%error, "stored password hash is not a valid PHC string");
                    false
                }
            }
        })
        .await;
        verified.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verified_once_is_not_checked_with_argon2_again() {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let hash = Argon2::default()
            .hash_password(b"charger-secret-1", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        let checker = PasswordChecker::new(1);
        assert!(
            checker
                .verify(hash.clone(), b"charger-secret-1".to_vec())
                .await
        );
        // With the only argon2 permit taken, a check that needs argon2 cannot finish...
        let _busy = checker.permits.clone().acquire_owned().await.unwrap();
        let patience = std::time::Duration::from_millis(300);
        let wrong = checker.verify(hash.clone(), b"guess".to_vec());
        assert!(tokio::time::timeout(patience, wrong).await.is_err());
        // ...while the password verified before is admitted at once.
        let again = checker.verify(hash, b"charger-secret-1".to_vec());
        assert_eq!(tokio::time::timeout(patience, again).await, Ok(true));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn strict_paths_need_the_ocpp_prefix() {
        assert_eq!(
            identity_from_path("/ocpp/CP-1", false).unwrap().as_str(),
            "CP-1"
        );
        for path in [
            "/CP-1",
            "/ocpp/",
            "/ocpp",
            "/ocpp/a/b",
            "/x/ocpp/CP-1",
            "/ocpp/CP-1/",
        ] {
            let refusal = identity_from_path(path, false).unwrap_err();
            assert_eq!(refusal.status, StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[test]
    fn any_prefix_takes_the_last_segment() {
        let id = identity_from_path("/steve/websocket/CentralSystemService/CP-7", true).unwrap();
        assert_eq!(id.as_str(), "CP-7");
        assert_eq!(identity_from_path("/CP-8", true).unwrap().as_str(), "CP-8");
        assert_eq!(
            identity_from_path("/steve/websocket/", true)
                .unwrap_err()
                .status,
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn identities_are_url_decoded_and_checked() {
        assert_eq!(
            identity_from_path("/ocpp/CP%201", false).unwrap().as_str(),
            "CP 1"
        );
        let too_long = format!("/ocpp/{}", "x".repeat(49));
        assert_eq!(
            identity_from_path(&too_long, false).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert!(identity_from_path(&format!("/ocpp/{}", "x".repeat(48)), false).is_ok());
        for path in ["/ocpp/a:b", "/ocpp/a%3Ab", "/ocpp/%FF", "/ocpp/a%00"] {
            assert_eq!(
                identity_from_path(path, false).unwrap_err().status,
                StatusCode::BAD_REQUEST,
                "{path}"
            );
        }
    }

    #[test]
    fn newest_offered_version_wins() {
        let h = headers(&[("sec-websocket-protocol", "ocpp1.6, ocpp2.0.1")]);
        assert_eq!(negotiate_version(&h), Some(OcppVersion::V201));
        let h = headers(&[
            ("sec-websocket-protocol", "ocpp1.6"),
            ("sec-websocket-protocol", "ocpp2.1"),
        ]);
        assert_eq!(negotiate_version(&h), Some(OcppVersion::V21));
        let h = headers(&[("sec-websocket-protocol", "ocpp1.5, OCPP2.0.1")]);
        assert_eq!(negotiate_version(&h), None);
        assert_eq!(negotiate_version(&HeaderMap::new()), None);
    }

    #[test]
    fn basic_credentials_are_decoded() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("CP-1:s3cr:et");
        let h = headers(&[("authorization", &format!("Basic {encoded}"))]);
        assert_eq!(
            basic_credentials(&h),
            Some(("CP-1".into(), b"s3cr:et".to_vec()))
        );
        let h = headers(&[("authorization", &format!("basic  {encoded}"))]);
        assert!(basic_credentials(&h).is_some());
        let h = headers(&[("authorization", &format!("Bearer {encoded}"))]);
        assert_eq!(basic_credentials(&h), None);
        let h = headers(&[("authorization", "Basic !!!")]);
        assert_eq!(basic_credentials(&h), None);
    }

    #[test]
    fn request_heads_are_parsed_incrementally() {
        let head = b"GET /ocpp/CP-1 HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n";
        assert!(parse_request(&head[..20]).unwrap().is_none());
        let mut bytes = head.to_vec();
        bytes.extend_from_slice(b"\x81\x80");
        let (size, request) = parse_request(&bytes).unwrap().unwrap();
        assert_eq!(size, head.len());
        assert_eq!(request.uri().path(), "/ocpp/CP-1");
        assert_eq!(
            parse_request(b"\x00\x01garbage\r\n\r\n")
                .unwrap_err()
                .status,
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn refusals_carry_their_headers() {
        let text = Refusal::new(StatusCode::UNAUTHORIZED, "authentication required").to_http();
        assert!(text.starts_with("HTTP/1.1 401 Unauthorized\r\n"));
        assert!(text.contains("WWW-Authenticate: Basic realm=\"ampere\"\r\n"));
        assert!(text.ends_with("\r\n\r\nauthentication required\n"));
    }
}
