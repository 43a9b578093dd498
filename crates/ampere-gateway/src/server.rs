//! The listeners (plain and, when configured, TLS): accept TCP connections within the one
//! connection limit they share, run each handshake (TLS, then HTTP) under one timeout, and
//! start one task per admitted charger.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use crate::commands::Commands;
use crate::config::GatewayConfig;
use crate::connection::{Connection, ConnectionContext};
use crate::directory::ChargerDirectory;
use crate::guard::{AuthGuard, HandshakeSlot, HandshakeSlots};
use crate::handler::{CallHandler, SessionInfo};
use crate::handshake::{self, Abort, Channel, HandshakeContext, PasswordChecker, Refusal};
use crate::registry::{Registry, Session};
use crate::security::{GatewaySecurityEvent, Reporter, SecurityEventKind};
use crate::socket::{ChargerSocket, Transport};
use crate::tls::{self, TlsReloader};

/// WebSocket read buffer per connection. Small on purpose: most OCPP messages are a few
/// hundred bytes, and this buffer is allocated for every idle charger. A bigger message grows
/// it for a moment; the connection then renews its buffers (see `socket.rs`).
const READ_BUFFER_BYTES: usize = 4096;
/// How long a refused client gets to read its HTTP error.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);
/// Over-the-limit clients answered 503 at once; beyond that they are simply dropped, so that
/// a flood cannot make the answers themselves unbounded.
const MAX_BUSY_ANSWERS: usize = 256;
/// Accept errors (e.g. out of file descriptors) back off up to this.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// The charger-facing OCPP WebSocket server.
#[derive(Debug)]
pub struct Gateway;

impl Gateway {
    /// Binds `config.ocpp_addr` (and `config.tls`'s address, when set) and starts accepting
    /// chargers. Fails when a listener cannot be bound or the TLS settings are unusable
    /// (`InvalidInput`). Runs until `shutdown` is
    /// cancelled; then stops accepting, closes every charger with 1001 (Going Away) after
    /// its in-flight CALLs are handled (at most `shutdown_grace`), and
    /// [`RunningGateway::join`] returns.
    pub async fn bind(
        config: GatewayConfig,
        directory: Arc<dyn ChargerDirectory>,
        handler: Arc<dyn CallHandler>,
        shutdown: CancellationToken,
    ) -> io::Result<RunningGateway> {
        let (tls_acceptor, tls_reloader) = match &config.tls {
            Some(settings) => {
                let (server_config, reloader) = tls::server_config(settings)
                    .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
                (Some(TlsAcceptor::from(server_config)), Some(reloader))
            }
            None => (None, None),
        };
        let listener = bind(config.ocpp_addr)?;
        let local_addr = listener.local_addr()?;
        let tls_listener = match (&config.tls, tls_acceptor) {
            (Some(settings), Some(acceptor)) => Some((bind(settings.addr)?, acceptor)),
            _ => None,
        };
        let tls_local_addr = match &tls_listener {
            Some((listener, _)) => Some(listener.local_addr()?),
            None => None,
        };
        let config = Arc::new(config);
        let registry = Arc::new(Registry::default());
        let commands = Commands::new(
            registry.clone(),
            config.call_timeout,
            config.command_queue_len,
        );
        let ws_config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            // Frames go out as soon as they are sent: nothing to gain from batching one
            // small answer at a time, and no buffer to keep per connection.
            .write_buffer_size(0)
            .max_message_size(Some(config.max_message_bytes))
            .max_frame_size(Some(config.max_message_bytes));
        let security = Arc::new(Reporter::new(config.security_events.clone()));
        let shared = Arc::new(Shared {
            handshake: HandshakeContext {
                config: config.clone(),
                directory,
                passwords: PasswordChecker::new(config.max_concurrent_password_checks),
                guard: AuthGuard::new(config.lockout),
                registry: registry.clone(),
                security: security.clone(),
            },
            connection: Arc::new(ConnectionContext {
                config: config.clone(),
                handler,
                registry,
                shutdown: shutdown.clone(),
                ws_config,
                security: security.clone(),
            }),
            handshake_slots: HandshakeSlots::new(config.max_handshakes_per_address),
            security,
            ws_config,
            next_connection_id: AtomicU64::new(1),
            tracker: TaskTracker::new(),
        });
        let permits = Arc::new(Semaphore::new(config.max_connections));
        tracing::info!(addr = %local_addr, "OCPP gateway listening (ws)");
        let mut accept = vec![tokio::spawn(accept_loop(
            listener,
            None,
            shared.clone(),
            permits.clone(),
            shutdown.clone(),
        ))];
        if let Some((listener, acceptor)) = tls_listener {
            tracing::info!(addr = ?tls_local_addr, "OCPP gateway listening (wss)");
            accept.push(tokio::spawn(accept_loop(
                listener,
                Some(acceptor),
                shared.clone(),
                permits,
                shutdown,
            )));
        }
        Ok(RunningGateway {
            local_addr,
            tls_local_addr,
            tls_reloader,
            commands,
            accept,
            shared,
        })
    }
}

/// A gateway that is accepting chargers.
pub struct RunningGateway {
    local_addr: SocketAddr,
    tls_local_addr: Option<SocketAddr>,
    tls_reloader: Option<TlsReloader>,
    commands: Commands,
    /// The accept loops: plain first, then TLS when configured.
    accept: Vec<tokio::task::JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RunningGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningGateway")
            .field("local_addr", &self.local_addr)
            .field("tls_local_addr", &self.tls_local_addr)
            .finish_non_exhaustive()
    }
}

impl RunningGateway {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address the TLS listener actually bound, when one is configured.
    pub fn tls_local_addr(&self) -> Option<SocketAddr> {
        self.tls_local_addr
    }

    /// The handle that replaces the TLS listener's server certificate, when one is configured.
    pub fn tls_reloader(&self) -> Option<TlsReloader> {
        self.tls_reloader.clone()
    }

    /// The handle for CSMS-initiated calls.
    pub fn commands(&self) -> Commands {
        self.commands.clone()
    }

    /// Waits until the gateway has shut down: the accept loop has stopped and every
    /// connection has been closed.
    pub async fn join(self) {
        for accept in self.accept {
            if let Err(error) = accept.await {
                tracing::error!(%error, "accept loop failed");
            }
        }
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
        tracing::info!("OCPP gateway stopped");
    }
}

struct Shared {
    handshake: HandshakeContext,
    connection: Arc<ConnectionContext>,
    ws_config: WebSocketConfig,
    /// Handshakes in progress per source address.
    handshake_slots: Arc<HandshakeSlots>,
    security: Arc<Reporter>,
    next_connection_id: AtomicU64,
    /// Every connection and handshake task, so that shutdown can wait for them.
    tracker: TaskTracker,
}

/// Accepts connections on one listener; `tls` is set for the `wss://` one.
async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    shutdown: CancellationToken,
) {
    let busy_answers = Arc::new(Semaphore::new(MAX_BUSY_ANSWERS));
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => {
                backoff = Duration::from_millis(5);
                accepted
            }
            Err(error) => {
                tracing::warn!(%error, backoff = ?backoff, "accept failed; backing off");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                continue;
            }
        };
        let slot = shared.handshake_slots.acquire(remote.ip());
        match (permits.clone().try_acquire_owned(), slot) {
            (Ok(permit), Some(slot)) => {
                let span = tracing::info_span!("connection", %remote);
                shared.tracker.spawn(
                    serve_connection(shared.clone(), stream, remote, permit, slot, tls.clone())
                        .instrument(span),
                );
            }
            (permit, _) => {
                let reason = if permit.is_err() {
                    tracing::warn!(%remote, "connection limit reached; refusing");
                    "connection limit reached"
                } else {
                    tracing::info!(%remote, "too many handshakes from this address; refusing");
                    "too many handshakes at once from this address"
                };
                shared.security.report_throttled(
                    GatewaySecurityEvent::new(SecurityEventKind::TooManyHandshakes, remote)
                        .with("reason", reason),
                );
                // A TLS client could only read a 503 after a full TLS handshake, the very
                // work the limit is there to bound: it is simply dropped.
                if tls.is_some() {
                    continue;
                }
                if let Ok(permit) = busy_answers.clone().try_acquire_owned() {
                    shared.tracker.spawn(async move {
                        answer_busy(stream).await;
                        drop(permit);
                    });
                }
            }
        }
    }
    tracing::info!("OCPP gateway stopped accepting");
}

async fn serve_connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    remote: SocketAddr,
    _permit: OwnedSemaphorePermit,
    slot: HandshakeSlot,
    tls: Option<TlsAcceptor>,
) {
    let timed_out = |phase: &str| {
        shared.security.report_throttled(
            GatewaySecurityEvent::new(SecurityEventKind::HandshakeTimeout, remote)
                .with("phase", phase)
                .with(
                    "timeout_ms",
                    shared.handshake.config.handshake_timeout.as_millis(),
                ),
        );
    };
    let _ = stream.set_nodelay(true);
    // One deadline for the whole handshake, TLS included: a slow client gets no more time
    // on the TLS port than on the plain one.
    let deadline = Instant::now() + shared.handshake.config.handshake_timeout;
    let (mut stream, channel) = match tls {
        None => (Transport::Plain(stream), Channel::Plain),
        Some(acceptor) => {
            let accepted = tokio::select! {
                () = shared.connection.shutdown.cancelled() => return,
                accepted = timeout_at(deadline, acceptor.accept(stream)) => accepted,
            };
            match accepted {
                Ok(Ok(stream)) => {
                    let client_identity = client_identity(&stream);
                    let channel = Channel::Tls { client_identity };
                    (Transport::Tls(Box::new(stream)), channel)
                }
                Ok(Err(error)) => {
                    // An untrusted or expired client certificate ends here too.
                    tracing::info!(%error, "TLS handshake failed");
                    if let Some(reason) = certificate_error(&error) {
                        shared.security.report_throttled(
                            GatewaySecurityEvent::new(
                                SecurityEventKind::CertificateRefused,
                                remote,
                            )
                            .with("reason", reason),
                        );
                    }
                    return;
                }
                Err(_) => {
                    tracing::info!("TLS handshake timed out");
                    timed_out("tls");
                    return;
                }
            }
        }
    };
    let handshake = timeout_at(
        deadline,
        handshake::accept(&mut stream, &shared.handshake, &channel, remote),
    );
    let outcome = tokio::select! {
        () = shared.connection.shutdown.cancelled() => return,
        outcome = handshake => outcome,
    };
    let admitted = match outcome {
        Ok(Ok(Ok(admitted))) => admitted,
        Ok(Ok(Err(refusal))) => return refuse(stream, &refusal).await,
        Ok(Err(Abort::Io(error))) => {
            tracing::debug!(%error, "handshake failed");
            return;
        }
        Ok(Err(Abort::Closed)) => {
            tracing::debug!("client closed the connection during the handshake");
            return;
        }
        Err(_) => {
            tracing::info!("handshake timed out");
            timed_out("http");
            return;
        }
    };
    // Admitted: no longer an unauthenticated handshake of this address.
    drop(slot);

    let info = SessionInfo {
        charger_id: admitted.charger_id,
        version: admitted.version,
        remote_addr: remote,
        connection_id: shared.next_connection_id.fetch_add(1, Ordering::Relaxed),
        known: admitted.known,
    };
    let span = tracing::info_span!(
        "charger",
        charger_id = %info.charger_id,
        connection_id = info.connection_id,
        version = %info.version,
    );
    let socket = ChargerSocket::new(stream, admitted.leftover, admitted.deflate);
    let ws = WebSocketStream::from_raw_socket(socket, Role::Server, Some(shared.ws_config)).await;
    let session = Arc::new(Session::new(info, admitted.auth));
    Connection::new(ws, session, shared.connection.clone())
        .run()
        .instrument(span)
        .await;
}

/// The name in the client certificate that rustls verified, if the client sent one.
fn client_identity(stream: &tokio_rustls::server::TlsStream<TcpStream>) -> Option<String> {
    let certificate = stream.get_ref().1.peer_certificates()?.first()?;
    let identity = tls::certificate_identity(certificate);
    if identity.is_none() {
        tracing::info!("client certificate has no single subject common name; ignored");
    }
    identity
}

/// Sends an HTTP error and closes.
async fn refuse(mut stream: impl tokio::io::AsyncWrite + Unpin, refusal: &Refusal) {
    let _ = timeout(REFUSAL_TIMEOUT, async {
        stream.write_all(refusal.to_http().as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

async fn answer_busy(stream: TcpStream) {
    let refusal = Refusal::new(
        tokio_tungstenite::tungstenite::http::StatusCode::SERVICE_UNAVAILABLE,
        "too many connections",
    );
    refuse(stream, &refusal).await;
}

/// What was wrong with the client's certificate, when that is why TLS failed.
fn certificate_error(error: &io::Error) -> Option<String> {
    let rustls_error = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    match rustls_error {
        rustls::Error::InvalidCertificate(reason) => Some(format!("{reason:?}")),
        rustls::Error::NoCertificatesPresented => Some("no certificate presented".into()),
        _ => None,
    }
}

/// Connections the kernel may hold, accepted by it but not yet by us. A boot storm (a whole
/// network reconnecting after an outage) arrives faster than one accept loop takes it; with
/// tokio's default of 1024 the rest of the SYNs are dropped and each charger waits for its
/// TCP retransmission (1 s, then 3 s, ...). The kernel caps this at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 16_384;

/// Binds a listener with [`LISTEN_BACKLOG`] (and `SO_REUSEADDR`, as `TcpListener::bind`
/// does, so a restarted server can bind while old connections linger in TIME_WAIT).
fn bind(addr: std::net::SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}
