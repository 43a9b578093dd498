"""Security profiles 2 and 3 with a real TLS client: the Python `ocpp` charge point over
wss, with and without a client certificate, against certificates made by `ampere cert`."""

import asyncio
import ssl

import pytest
import websockets
from ocpp import v201

from test_charger_interop import VERSIONS, connect, disconnect


def tls_context(pki, charger=None):
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if charger:
        context.load_cert_chain(
            str(pki / "chargers" / f"{charger}.pem"),
            str(pki / "chargers" / f"{charger}.key.pem"),
        )
    return context


async def connect_tls(server, identity, context, password=None):
    version = VERSIONS["2.0.1"]
    return await connect(server, version, identity, password, url=server.wss_url, ssl=context)


@pytest.fixture
def tls_server(server):
    server.cli("cert", "init-ca")
    server.cli("cert", "server", "--dns", "localhost", "--ip", "127.0.0.1")
    for charger in ("CP-P3", "CP-OTHER"):
        server.cli("cert", "charger", charger)
    server.cli("charger", "add", "CP-P3", "--security-profile", "3")
    server.cli("charger", "add", "CP-P2", "--password", "pw-profile-two", "--security-profile", "2")
    pki = server.data_dir / "pki"
    server.start(
        "--ocpp-tls-addr", "127.0.0.1:0",
        "--tls-cert", pki / "server.pem",
        "--tls-key", pki / "server.key.pem",
        "--tls-client-ca", pki / "ca.pem",
    )
    assert server.wss_url, "server printed no wss URL"
    server.pki = pki
    return server


def test_profile_3_connects_with_its_certificate_only(tls_server):
    pki = tls_server.pki

    async def scenario():
        ws, cp, task = await connect_tls(tls_server, "CP-P3", tls_context(pki, "CP-P3"))
        status, _ = await VERSIONS["2.0.1"].boot(cp)
        assert status == "Accepted"
        await disconnect(ws, task)

        # Without a certificate, or with another charger's, it is refused at the handshake.
        for context in (tls_context(pki), tls_context(pki, "CP-OTHER")):
            with pytest.raises(websockets.InvalidStatus) as refused:
                await connect_tls(tls_server, "CP-P3", context)
            assert refused.value.response.status_code == 403

        # And never on the plain listener.
        with pytest.raises(websockets.InvalidStatus) as refused:
            await connect(tls_server, VERSIONS["2.0.1"], "CP-P3")
        assert refused.value.response.status_code == 403

    asyncio.run(scenario())


def test_profile_2_needs_tls_and_its_password(tls_server):
    pki = tls_server.pki

    async def scenario():
        ws, cp, task = await connect_tls(tls_server, "CP-P2", tls_context(pki), "pw-profile-two")
        r = await cp.call(v201.call.Heartbeat())
        assert r.current_time
        await disconnect(ws, task)

        with pytest.raises(websockets.InvalidStatus) as refused:
            await connect_tls(tls_server, "CP-P2", tls_context(pki), "wrong-password")
        assert refused.value.response.status_code == 401

        # The right password on plain ws is a downgrade: refused.
        with pytest.raises(websockets.InvalidStatus) as refused:
            await connect(tls_server, VERSIONS["2.0.1"], "CP-P2", "pw-profile-two")
        assert refused.value.response.status_code == 403

    asyncio.run(scenario())


def test_a_certificate_from_another_ca_cannot_impersonate_a_charger(tls_server, tmp_path):
    # An attacker with their own CA issues a certificate with the charger's name in it.
    rogue = tmp_path / "rogue-pki"
    tls_server.cli("cert", "init-ca", "--out", str(rogue))
    tls_server.cli("cert", "charger", "CP-P3", "--out", str(rogue))
    context = ssl.create_default_context(cafile=str(tls_server.pki / "ca.pem"))
    context.load_cert_chain(
        str(rogue / "chargers" / "CP-P3.pem"), str(rogue / "chargers" / "CP-P3.key.pem")
    )

    async def scenario():
        with pytest.raises((ssl.SSLError, ConnectionError, websockets.InvalidStatus,
                            websockets.InvalidMessage)) as refused:
            await connect_tls(tls_server, "CP-P3", context)
        # Whatever the client sees, it must not be a WebSocket session.
        assert not isinstance(refused.value, websockets.InvalidStatus) or (
            refused.value.response.status_code in (401, 403)
        )

    asyncio.run(scenario())
