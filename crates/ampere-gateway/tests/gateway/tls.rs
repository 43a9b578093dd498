//! The TLS listener with real TLS clients (tokio-rustls, with and without a client
//! certificate), certificates made here with rcgen: every security profile accepted or
//! refused as it must be.

use std::net::SocketAddr;
use std::sync::Arc;

use ampere_gateway::{GatewayConfig, TlsConfig};
use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::common::{TestGateway, WAIT, eventually, test_config};
use crate::security::Recorder;
use ampere_gateway::SecurityEventKind;

type TlsClient = WebSocketStream<TlsStream<TcpStream>>;
type Identity = (CertificateDer<'static>, PrivateKeyDer<'static>);

/// An operator CA.
fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A certificate signed by `ca` with subject CN `name`.
fn issue(
    ca: &CertifiedIssuer<'static, KeyPair>,
    name: &str,
    sans: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> Identity {
    let key = KeyPair::generate().unwrap();
    let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(sans).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    let certificate = params.signed_by(&key, ca).unwrap();
    (
        certificate.der().clone(),
        PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    )
}

fn charger_certificate(ca: &CertifiedIssuer<'static, KeyPair>, id: &str) -> Identity {
    issue(ca, id, &[], ExtendedKeyUsagePurpose::ClientAuth)
}

/// A gateway with both listeners, its CA, and chargers registered:
/// `CP-1` profile 1 (password `one`), `CP-2` profile 2 (password `two`),
/// `CP-3` profile 3 (password `three`, which must not be enough).
struct Setup {
    gateway: TestGateway,
    ca: CertifiedIssuer<'static, KeyPair>,
    /// The security events the gateway reported.
    events: Arc<Recorder>,
}

impl Setup {
    async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    async fn start_with(adjust: impl FnOnce(&mut TlsConfig)) -> Self {
        let ca = ca("Ampere test CA");
        let (server_cert, server_key) = issue(
            &ca,
            "localhost",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let mut tls = TlsConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            cert_chain: vec![server_cert],
            key: server_key,
            client_ca: vec![ca.der().clone()],
        };
        adjust(&mut tls);
        let events = Arc::new(Recorder::default());
        let gateway = TestGateway::start(GatewayConfig {
            tls: Some(tls),
            security_events: events.clone(),
            ..test_config()
        })
        .await;
        gateway.directory.register("CP-1", Some("one"), 1);
        gateway.directory.register("CP-2", Some("two"), 2);
        gateway.directory.register("CP-3", Some("three"), 3);
        Self {
            gateway,
            ca,
            events,
        }
    }

    fn tls_addr(&self) -> SocketAddr {
        self.gateway.tls_addr.expect("TLS listener bound")
    }

    fn client(&self, certificate: Option<Identity>) -> Arc<ClientConfig> {
        client_config(self.ca.der(), certificate, rustls::DEFAULT_VERSIONS)
    }

    async fn connect(
        &self,
        id: &str,
        certificate: Option<Identity>,
        credentials: Option<(&str, &str)>,
    ) -> Result<TlsClient, tungstenite::Error> {
        connect_tls(self.tls_addr(), self.client(certificate), id, credentials).await
    }

    /// The HTTP status of a refused upgrade over TLS.
    async fn refused(
        &self,
        id: &str,
        certificate: Option<Identity>,
        credentials: Option<(&str, &str)>,
    ) -> u16 {
        match self.connect(id, certificate, credentials).await {
            Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
            Err(other) => panic!("expected an HTTP refusal for {id}, got {other}"),
            Ok(_) => panic!("expected an HTTP refusal for {id}, got an upgrade"),
        }
    }
}

fn client_config(
    ca: &CertificateDer<'static>,
    certificate: Option<Identity>,
    versions: &[&'static SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.clone()).unwrap();
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots);
    Arc::new(match certificate {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        None => builder.with_no_client_auth(),
    })
}

/// TLS to `addr` (as `localhost`), then the WebSocket upgrade to `/ocpp/{id}` offering
/// `ocpp2.0.1`.
async fn connect_tls(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    id: &str,
    credentials: Option<(&str, &str)>,
) -> Result<TlsClient, tungstenite::Error> {
    let tcp = TcpStream::connect(addr).await?;
    let server_name = ServerName::try_from("localhost").unwrap();
    let tls = TlsConnector::from(config).connect(server_name, tcp).await?;
    let mut request = format!("wss://localhost:{}/ocpp/{id}", addr.port()).into_client_request()?;
    let headers = request.headers_mut();
    headers.insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("ocpp2.0.1"),
    );
    if let Some((user, password)) = credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        headers.insert(
            "Authorization",
            HeaderValue::from_str(&format!("Basic {token}")).unwrap(),
        );
    }
    let (client, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(request, tls))
        .await
        .expect("handshake in time")?;
    Ok(client)
}

/// A CALL the test handler echoes: proves the session really works over TLS.
async fn echo(client: &mut TlsClient) {
    let call = json!([2, "m1", "Echo", {"over": "tls"}]);
    client
        .send(Message::text(call.to_string()))
        .await
        .expect("send");
    loop {
        let message = tokio::time::timeout(WAIT, client.next())
            .await
            .expect("an answer in time")
            .expect("connection open")
            .expect("read ok");
        if let Message::Text(text) = message {
            let answer: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(answer, json!([3, "m1", {"over": "tls"}]));
            return;
        }
    }
}

#[tokio::test]
async fn profile_2_charger_connects_over_tls_with_its_password() {
    let setup = Setup::start().await;
    let mut client = setup
        .connect("CP-2", None, Some(("CP-2", "two")))
        .await
        .expect("profile 2 over TLS with its password");
    echo(&mut client).await;
    let session = &setup.gateway.handler.sessions()[0];
    assert_eq!(session.charger_id.as_str(), "CP-2");
    assert!(session.known);

    assert_eq!(setup.refused("CP-2", None, None).await, 401);
    assert_eq!(
        setup.refused("CP-2", None, Some(("CP-2", "wrong"))).await,
        401
    );
    assert_eq!(
        setup.refused("CP-2", None, Some(("CP-1", "one"))).await,
        401
    );
}

#[tokio::test]
async fn profile_2_charger_is_refused_on_the_plain_listener() {
    let setup = Setup::start().await;
    let (status, _) = setup
        .gateway
        .refused_status("/ocpp/CP-2", "ocpp2.0.1", Some(("CP-2", "two")))
        .await;
    assert_eq!(status, 403);
    let violations = setup.events.of(SecurityEventKind::ProfileViolation);
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].charger_id.as_ref().unwrap().as_str(), "CP-2");
}

#[tokio::test]
async fn profile_3_charger_connects_with_its_certificate_alone() {
    let setup = Setup::start().await;
    let certificate = charger_certificate(&setup.ca, "CP-3");
    let mut client = setup
        .connect("CP-3", Some(certificate), None)
        .await
        .expect("profile 3 with its certificate");
    echo(&mut client).await;
    assert!(setup.gateway.handler.sessions()[0].known);
}

#[tokio::test]
async fn profile_3_charger_without_a_certificate_is_refused_even_with_its_password() {
    let setup = Setup::start().await;
    assert_eq!(
        setup.refused("CP-3", None, Some(("CP-3", "three"))).await,
        403
    );
    assert_eq!(setup.refused("CP-3", None, None).await, 403);
    // Nor on the plain listener.
    let (status, _) = setup
        .gateway
        .refused_status("/ocpp/CP-3", "ocpp2.0.1", Some(("CP-3", "three")))
        .await;
    assert_eq!(status, 403);
    assert!(setup.gateway.handler.sessions().is_empty());
    // Each downgrade attempt is a reported profile violation (thinned to one a second per
    // address, so at least one).
    assert!(
        !setup
            .events
            .of(SecurityEventKind::ProfileViolation)
            .is_empty()
    );
}

#[tokio::test]
async fn a_certificate_never_opens_another_chargers_identity() {
    let setup = Setup::start().await;
    // CP-9's valid certificate, used to come in as CP-3 (profile 3) ...
    let other = charger_certificate(&setup.ca, "CP-9");
    let copy = (other.0.clone(), other.1.clone_key());
    assert_eq!(setup.refused("CP-3", Some(copy), None).await, 403);
    // ... or as CP-2 (profile 2), even with CP-2's right password.
    assert_eq!(
        setup
            .refused("CP-2", Some(other), Some(("CP-2", "two")))
            .await,
        403
    );
    assert!(setup.gateway.handler.sessions().is_empty());
    let refused = setup.events.of(SecurityEventKind::CertificateRefused);
    assert_eq!(refused.len(), 2);
    assert!(
        refused
            .iter()
            .all(|e| Recorder::detail(e, "certificate_name").as_deref() == Some("CP-9"))
    );
}

#[tokio::test]
async fn a_certificate_from_another_ca_fails_the_tls_handshake() {
    let setup = Setup::start().await;
    let rogue = ca("Rogue CA");
    let forged = charger_certificate(&rogue, "CP-3");
    match setup.connect("CP-3", Some(forged), None).await {
        Ok(_) => panic!("a certificate from an unknown CA was accepted"),
        Err(tungstenite::Error::Http(response)) => {
            panic!("expected a TLS failure, got HTTP {}", response.status())
        }
        Err(_) => {}
    }
    assert!(setup.gateway.handler.sessions().is_empty());
    eventually(|| {
        !setup
            .events
            .of(SecurityEventKind::CertificateRefused)
            .is_empty()
    })
    .await;
}

#[tokio::test]
async fn profile_1_charger_may_use_tls() {
    let setup = Setup::start().await;
    let mut client = setup
        .connect("CP-1", None, Some(("CP-1", "one")))
        .await
        .expect("profile 1 over TLS");
    echo(&mut client).await;
    assert_eq!(setup.refused("CP-1", None, Some(("CP-1", "x"))).await, 401);
}

#[tokio::test]
async fn weaker_credentials_never_evict_a_live_tls_connection() {
    let setup = Setup::start().await;
    // CP-1 (profile 1) is live over TLS with its password, and reads (answers pings).
    let live = setup
        .connect("CP-1", None, Some(("CP-1", "one")))
        .await
        .expect("profile 1 over TLS");
    let (mut writer, mut reader) = live.split();
    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(message)) = reader.next().await {
            if let Message::Text(text) = message {
                let _ = answers.send(text.to_string());
            }
        }
    });
    // The same password over plain ws proves less than the live connection: 409.
    let (status, _) = setup
        .gateway
        .refused_status("/ocpp/CP-1", "ocpp1.6", Some(("CP-1", "one")))
        .await;
    assert_eq!(status, 409);
    writer
        .send(Message::text(json!([2, "still", "Echo", {}]).to_string()))
        .await
        .unwrap();
    let answer = tokio::time::timeout(WAIT, answered.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&answer).unwrap(),
        json!([3, "still", {}])
    );
    // The same credentials over TLS again are as strong: they replace it.
    let mut again = setup
        .connect("CP-1", None, Some(("CP-1", "one")))
        .await
        .expect("an equal reconnect replaces the live connection");
    echo(&mut again).await;
}

#[tokio::test]
async fn both_listeners_serve_at_once() {
    let setup = Setup::start().await;
    let (mut plain, _) = setup
        .gateway
        .try_connect("/ocpp/CP-1", "ocpp1.6", Some(("CP-1", "one")))
        .await
        .expect("profile 1 on ws");
    let mut secure = setup
        .connect("CP-3", Some(charger_certificate(&setup.ca, "CP-3")), None)
        .await
        .expect("profile 3 on wss");
    echo(&mut secure).await;
    plain
        .send(Message::text(json!([2, "p1", "Echo", {}]).to_string()))
        .await
        .unwrap();
    assert_eq!(crate::common::recv(&mut plain).await, json!([3, "p1", {}]));
    let ids: Vec<String> = setup
        .gateway
        .handler
        .sessions()
        .iter()
        .map(|s| s.charger_id.to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"CP-1".to_owned()) && ids.contains(&"CP-3".to_owned()));
}

#[tokio::test]
async fn unknown_chargers_follow_the_policy_over_tls_too() {
    let setup = Setup::start().await;
    let mut client = setup
        .connect("NEW-1", Some(charger_certificate(&setup.ca, "NEW-1")), None)
        .await
        .expect("unknown charger admitted under the pending policy");
    echo(&mut client).await;
    assert!(!setup.gateway.handler.sessions()[0].known);
}

#[tokio::test]
async fn without_a_client_ca_profile_3_cannot_connect() {
    let setup = Setup::start_with(|tls| tls.client_ca.clear()).await;
    // The server asks for no certificate, so the client sends none.
    let certificate = charger_certificate(&setup.ca, "CP-3");
    assert_eq!(setup.refused("CP-3", Some(certificate), None).await, 403);
    let mut client = setup
        .connect("CP-2", None, Some(("CP-2", "two")))
        .await
        .expect("profile 2 still works");
    echo(&mut client).await;
}

#[tokio::test]
async fn tls_1_2_and_1_3_are_both_served() {
    let setup = Setup::start().await;
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let config = client_config(
            setup.ca.der(),
            Some(charger_certificate(&setup.ca, "CP-3")),
            &[version],
        );
        let mut client = connect_tls(setup.tls_addr(), config, "CP-3", None)
            .await
            .expect("connect");
        let negotiated = client.get_ref().get_ref().1.protocol_version();
        assert_eq!(negotiated, Some(version.version));
        echo(&mut client).await;
    }
}

#[tokio::test]
async fn an_unusable_tls_configuration_fails_bind() {
    let ca = ca("CA");
    let (certificate, _) = issue(
        &ca,
        "a",
        &["localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (_, other_key) = issue(
        &ca,
        "b",
        &["localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let config = GatewayConfig {
        tls: Some(TlsConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            cert_chain: vec![certificate],
            key: other_key,
            client_ca: Vec::new(),
        }),
        ..test_config()
    };
    let error = ampere_gateway::Gateway::bind(
        config,
        Arc::new(crate::common::FakeDirectory::default()),
        Arc::new(crate::common::FakeHandler::default()),
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .expect_err("a key that does not match the certificate");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

/// A minimal TLS ClientHello (RFC 5246 §7.4.1.2) offering `version` and `suites`, with the
/// extensions an ECDHE-ECDSA handshake needs (groups x25519 and P-256, uncompressed points,
/// ECDSA/RSA-PSS/RSA signatures). Written by hand because no TLS library offers TLS 1.1 or the
/// static-RSA suites any more.
fn client_hello(version: [u8; 2], suites: &[u16]) -> Vec<u8> {
    fn extension(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut out = kind.to_be_bytes().to_vec();
        out.extend((data.len() as u16).to_be_bytes());
        out.extend(data);
        out
    }
    let mut extensions = Vec::new();
    extensions.extend(extension(0x000a, &[0, 4, 0x00, 0x1d, 0x00, 0x17]));
    extensions.extend(extension(0x000b, &[1, 0]));
    extensions.extend(extension(
        0x000d,
        &[0, 6, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01],
    ));
    let mut body = version.to_vec();
    body.extend([7u8; 32]); // random
    body.push(0); // no session id
    body.extend(((suites.len() * 2) as u16).to_be_bytes());
    for suite in suites {
        body.extend(suite.to_be_bytes());
    }
    body.extend([1, 0]); // null compression only
    body.extend((extensions.len() as u16).to_be_bytes());
    body.extend(extensions);
    let mut handshake = vec![1u8]; // client_hello
    handshake.extend(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend(body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    record
}

/// What the server answers a raw ClientHello: `Ok(handshake type)` of its first handshake
/// message (2 = ServerHello) or `Err(alert description)`.
async fn answer_to(addr: SocketAddr, hello: &[u8]) -> Result<u8, u8> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(hello).await.unwrap();
    let mut head = [0u8; 6];
    tokio::time::timeout(WAIT, tcp.read_exact(&mut head))
        .await
        .expect("an answer in time")
        .expect("a TLS record");
    match head[0] {
        0x16 => Ok(head[5]),
        0x15 => {
            let mut description = [0u8; 1];
            tcp.read_exact(&mut description).await.unwrap();
            Err(description[0])
        }
        other => panic!("unexpected record type {other:#x}"),
    }
}

const ECDHE_ECDSA_AES128_GCM: u16 = 0xc02b;
/// The static-RSA suites OCPP 2.0.1 A00.FR.318 lists; rustls offers neither.
const RSA_AES128_GCM: u16 = 0x009c;
const RSA_AES256_GCM: u16 = 0x009d;
const ALERT_HANDSHAKE_FAILURE: u8 = 40;
const ALERT_PROTOCOL_VERSION: u8 = 70;

#[tokio::test]
async fn tls_1_1_and_static_rsa_suites_are_refused() {
    let setup = Setup::start().await;
    let addr = setup.tls_addr();
    // Control: the same hello with a forward-secret AEAD suite gets a ServerHello ...
    assert_eq!(
        answer_to(addr, &client_hello([3, 3], &[ECDHE_ECDSA_AES128_GCM])).await,
        Ok(2)
    );
    // ... while TLS 1.1, or TLS 1.2 with only the static-RSA GCM suites, is refused.
    assert_eq!(
        answer_to(addr, &client_hello([3, 2], &[ECDHE_ECDSA_AES128_GCM])).await,
        Err(ALERT_PROTOCOL_VERSION)
    );
    assert_eq!(
        answer_to(
            addr,
            &client_hello([3, 3], &[RSA_AES128_GCM, RSA_AES256_GCM])
        )
        .await,
        Err(ALERT_HANDSHAKE_FAILURE)
    );
}

/// The server certificate a client was shown.
fn presented(client: &TlsClient) -> CertificateDer<'static> {
    let (_, connection) = client.get_ref().get_ref();
    connection
        .peer_certificates()
        .expect("a server certificate")[0]
        .clone()
}

#[tokio::test]
async fn the_server_certificate_is_replaced_without_a_restart() {
    let setup = Setup::start().await;
    let reloader = setup.gateway.tls_reloader.clone().expect("a reloader");
    let mut before = setup
        .connect("CP-3", Some(charger_certificate(&setup.ca, "CP-3")), None)
        .await
        .expect("connect");
    let original = presented(&before);
    let sans = ["localhost", "127.0.0.1"];
    let (renewed, renewed_key) = issue(
        &setup.ca,
        "localhost",
        &sans,
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (_, stray_key) = issue(
        &setup.ca,
        "localhost",
        &sans,
        ExtendedKeyUsagePurpose::ServerAuth,
    );

    // A key that does not belong to the certificate is refused; the old one stays in use.
    assert!(reloader.reload(vec![renewed.clone()], stray_key).is_err());
    let probe = setup
        .connect("CP-2", None, Some(("CP-2", "two")))
        .await
        .expect("connect");
    assert_eq!(presented(&probe), original);

    reloader.reload(vec![renewed.clone()], renewed_key).unwrap();
    let mut after = setup
        .connect("CP-1", None, Some(("CP-1", "one")))
        .await
        .expect("connect after the reload");
    assert_eq!(presented(&after), renewed);
    assert_ne!(renewed, original);
    // The connection made before the reload goes on undisturbed.
    echo(&mut before).await;
    echo(&mut after).await;
}
