"""Sign-in, sessions, CSRF and headers (OWASP ASVS 5.0 as the shared reference lists it)."""

from __future__ import annotations

import ipaddress
import time

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from hypothesis import assume, given
from hypothesis import strategies as st
from pytest_django.fixtures import Settings

from kip.clinic import security
from kip.site.client_address import client_address, resolve, trusted_networks

from .conftest import PASSWORD, Clinic

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra: str) -> int:
    response = client.post(reverse("login"), {"username": username, "password": password} | extra)
    return response.status_code


def test_sign_in_rotates_the_session_id_and_lands_by_role(clinic: Clinic) -> None:
    client = Client()
    session = client.session  # an anonymous session, as a browser has before signing in
    session["seen"] = True
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key or ""
    before = session.session_key
    response = client.post(reverse("login"), {"username": "nurse", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == reverse("home")
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != before
    assert client.get(reverse("home")).headers["Location"] == reverse("worklist")


def test_sign_in_refuses_an_offsite_next(clinic: Clinic) -> None:
    response = Client().post(
        reverse("login"),
        {"username": "nurse", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.headers["Location"] == reverse("home")


def test_five_failures_lock_this_username_from_this_address(clinic: Clinic) -> None:
    client = Client()
    for _ in range(settings.KIP_LOGIN_MAX_FAILURES):
        assert sign_in(client, "nurse", "wrong password") == 200
    # Now even the right password is refused, with a message that says why and for how long.
    response = client.post(reverse("login"), {"username": "nurse", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content and b"15 minutes" in response.content
    # The wait in seconds for a script or a proxy: the window less the time since the first failure.
    wait = int(response["Retry-After"])
    assert wait > settings.KIP_LOGIN_FAILURE_WINDOW_SECONDS - 60
    assert wait <= settings.KIP_LOGIN_FAILURE_WINDOW_SECONDS
    assert "_auth_user_id" not in client.session
    # Another username from the same address, and the same username elsewhere, are not locked.
    assert sign_in(Client(), "physician") == 302
    assert sign_in(Client(REMOTE_ADDR="10.0.0.9"), "nurse") == 302


def test_lock_lifts_after_the_window(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    from kip.clinic import throttle

    for _ in range(settings.KIP_LOGIN_MAX_FAILURES):
        throttle.record_failure("nurse", "127.0.0.1", now=1000.0)
    assert throttle.locked_for("nurse", "127.0.0.1", now=1001.0) == 15 * 60 - 1
    later = 1000.0 + settings.KIP_LOGIN_FAILURE_WINDOW_SECONDS
    assert throttle.locked_for("nurse", "127.0.0.1", now=later) == 0


def test_a_success_clears_earlier_failures(clinic: Clinic) -> None:
    client = Client()
    for _ in range(settings.KIP_LOGIN_MAX_FAILURES - 1):
        sign_in(client, "nurse", "wrong password")
    assert sign_in(client, "nurse") == 302
    other = Client()
    sign_in(other, "nurse", "wrong password")
    assert sign_in(other, "nurse") == 302


def _shift_clock(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The session clock `seconds` ahead of the real one (not of an earlier shift)."""
    monkeypatch.setattr(security, "now", lambda: time.time() + seconds)


def test_idle_session_is_signed_out(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client()
    assert sign_in(client, "nurse") == 302
    assert client.get(reverse("worklist")).status_code == 200
    _shift_clock(monkeypatch, settings.KIP_IDLE_TIMEOUT_SECONDS + 5)
    response = client.get(reverse("patient", args=[clinic.patient.pk]))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("login") + "?expired=idle")
    page = client.get(response.headers["Location"]).content.decode()
    assert "signed out after 15 minutes without activity" in page
    # Signed out for good, not just redirected once.
    assert client.get(reverse("worklist")).status_code == 302


def test_activity_keeps_the_session_but_polling_does_not(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client()
    sign_in(client, "nurse")
    half = settings.KIP_IDLE_TIMEOUT_SECONDS * 0.6
    _shift_clock(monkeypatch, half)
    chart = reverse("flowsheet-chart", args=[clinic.infusion.pk])
    assert client.get(chart, headers={"X-KIP-Poll": "1", "HX-Request": "true"}).status_code == 200
    _shift_clock(monkeypatch, 2 * half)
    # The chart's timer did not count as activity: the flowsheet left open times out, and htmx
    # is told to load the sign-in page instead of swapping it into the chart.
    response = client.get(chart, headers={"X-KIP-Poll": "1", "HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith(reverse("login") + "?expired=idle")

    client = Client()
    sign_in(client, "nurse")
    _shift_clock(monkeypatch, half)
    assert client.get(reverse("worklist")).status_code == 200  # a real request
    _shift_clock(monkeypatch, 2 * half)
    assert client.get(reverse("worklist")).status_code == 200


def test_absolute_timeout(clinic: Clinic, monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client()
    sign_in(client, "nurse")
    step = settings.KIP_IDLE_TIMEOUT_SECONDS - 60
    elapsed = 0.0
    # Active all day, never idle for long: still signed out at the 12-hour mark.
    while elapsed + step < settings.KIP_ABSOLUTE_TIMEOUT_SECONDS:
        elapsed += step
        _shift_clock(monkeypatch, elapsed)
        assert client.get(reverse("worklist")).status_code == 200
    _shift_clock(monkeypatch, settings.KIP_ABSOLUTE_TIMEOUT_SECONDS + 1)
    response = client.get(reverse("worklist"))
    assert response.headers["Location"].startswith(reverse("login") + "?expired=absolute")


def test_csrf_is_enforced_on_forms(clinic: Clinic) -> None:
    client = Client(enforce_csrf_checks=True)
    assert (
        client.post(reverse("login"), {"username": "nurse", "password": PASSWORD}).status_code
        == 403
    )
    client.force_login(clinic.users["nurse"])
    url = reverse("infusion-checkin", args=[clinic.infusion.pk])
    assert client.post(url, {"baseline_nprs": "7"}).status_code == 403
    # With the token the page gives (in the form and in htmx's header), the same post goes through.
    page = client.get(reverse("flowsheet", args=[clinic.infusion.pk])).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert f'"X-CSRFToken": "{token}"' in page
    response = client.post(url, {"baseline_nprs": "7", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    clinic.infusion.refresh_from_db()
    assert clinic.infusion.baseline_nprs == 7


def test_sign_out_is_post_only(clinic: Clinic) -> None:
    client = clinic.client("nurse")
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("worklist")).status_code == 302


def test_patient_pages_are_no_store_and_static_files_are_not(clinic: Clinic) -> None:
    client = clinic.client("nurse")
    for url in (
        reverse("patients"),
        reverse("patient", args=[clinic.patient.pk]),
        reverse("flowsheet", args=[clinic.infusion.pk]),
        reverse("flowsheet-chart", args=[clinic.infusion.pk]),
        reverse("worklist"),
    ):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    css = client.get("/static/kip/clinic.css")
    assert css.status_code == 200 and "no-store" not in css.headers["Cache-Control"]
    assert css.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/static/../settings.py").status_code == 404


@pytest.mark.parametrize("path", ["/no/such/page/", "/admin/login/", "/static/kip/nothing.css"])
def test_headers_on_other_responses(clinic: Clinic, path: str) -> None:
    response = clinic.client("nurse").get(path)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_hsts_only_over_https(clinic: Clinic) -> None:
    client = clinic.client("nurse")
    assert "Strict-Transport-Security" not in client.get(reverse("login")).headers
    secure = client.get(reverse("login"), secure=True)
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_have_no_inline_script_or_style(clinic: Clinic) -> None:
    client = clinic.client("nurse")
    for url in (reverse("flowsheet", args=[clinic.infusion.pk]), reverse("patients")):
        page = client.get(url).content.decode()
        assert "<script>" not in page and " style=" not in page and "<style" not in page
        assert 'name="htmx-config"' in page and '"historyCacheSize": 0' in page


# --------------------------------------------------------------------------- every password check


def admin_sign_in(client: Client, username: str, password: str = PASSWORD) -> str:
    """The sign-in page's text when it is shown again (refused), "" when signed in."""
    response = client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    )
    if response.status_code == 302:
        return ""
    page = response.content.decode()
    # Locked is 429 with the wait, as on the clinic's sign-in; a wrong password is 200.
    locked = "Too many failed sign-ins" in page
    assert response.status_code == (429 if locked else 200)
    assert (response.get("Retry-After") or "").isdigit() == locked
    if locked:
        assert 0 < int(response["Retry-After"]) <= settings.KIP_LOGIN_FAILURE_WINDOW_SECONDS
    return page


@pytest.mark.parametrize("username", ["admin", "nobody"])
def test_django_admin_sign_in_is_throttled(clinic: Clinic, username: str) -> None:
    clinic.users["admin"].is_staff = True
    clinic.users["admin"].save()
    client = Client()
    for _ in range(settings.KIP_LOGIN_MAX_FAILURES):
        assert "Please enter the correct username" in admin_sign_in(client, username, "wrong")
    # Locked, whether or not the username exists: the same words, and no session.
    page = admin_sign_in(client, username)
    assert f"Too many failed sign-ins for {username}" in page and "15 minutes" in page
    assert "_auth_user_id" not in client.session
    assert admin_sign_in(Client(REMOTE_ADDR="10.0.0.9"), "admin") == ""  # signed in: redirect


def test_one_lock_for_every_sign_in_path(clinic: Clinic) -> None:
    clinic.users["admin"].is_staff = True
    clinic.users["admin"].save()
    for _ in range(settings.KIP_LOGIN_MAX_FAILURES):
        admin_sign_in(Client(), "admin", "wrong")
    # Failures at Django admin's sign-in lock the clinic's too (and the API's, which shares the
    # backend: tests/api/test_api_admin.py).
    assert sign_in(Client(), "admin") == 429


# --------------------------------------------------------------------------- behind a proxy

PROXY = "10.0.0.1"


def test_behind_a_trusted_proxy_each_client_has_its_own_lock(
    clinic: Clinic, settings: Settings
) -> None:
    settings.KIP_TRUSTED_PROXIES = [PROXY]
    mallory = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.5"}
    for _ in range(settings.KIP_LOGIN_MAX_FAILURES):
        assert sign_in(Client(**mallory), "nurse", "wrong") == 200
    assert sign_in(Client(**mallory), "nurse") == 429
    # A colleague behind the same proxy is not locked out with her.
    assert sign_in(Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.6"), "nurse") == 302
    # Mallory cannot name another address: the proxy appends hers after what she sent.
    spoofed = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.7, 203.0.113.5"}
    assert sign_in(Client(**spoofed), "nurse") == 429


def test_without_a_trusted_proxy_the_header_is_ignored(clinic: Clinic) -> None:
    for i in range(settings.KIP_LOGIN_MAX_FAILURES):
        client = Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        assert sign_in(client, "nurse", "wrong") == 200
    client = Client(REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert sign_in(client, "nurse") == 429


# (direct peer, X-Forwarded-For, trusted proxies, client address)
ADDRESSES: list[tuple[str, str, list[str], str]] = [
    ("203.0.113.5", "", [], "203.0.113.5"),
    ("203.0.113.5", "198.51.100.1", [], "203.0.113.5"),  # nobody trusted: header ignored
    ("203.0.113.5", "198.51.100.1", [PROXY], "203.0.113.5"),  # the peer is no proxy of ours
    (PROXY, "198.51.100.1", [PROXY], "198.51.100.1"),
    (PROXY, "198.51.100.1", ["10.0.0.0/8"], "198.51.100.1"),
    (PROXY, "", [PROXY], PROXY),  # a proxy that sent no header: itself
    (PROXY, "1.1.1.1, 198.51.100.1", [PROXY], "198.51.100.1"),  # left of the hop: the client's
    (PROXY, "198.51.100.1, 10.0.0.2", ["10.0.0.0/24"], "198.51.100.1"),  # two trusted hops
    (PROXY, "10.0.0.3, 10.0.0.2", ["10.0.0.0/24"], "10.0.0.3"),  # all trusted: the furthest
    (PROXY, "198.51.100.1, unknown", [PROXY], PROXY),  # a hop that is no address ends the walk
    (PROXY, "198.51.100.1:4711", [PROXY], "198.51.100.1"),
    (PROXY, "[2001:db8::1]:443", [PROXY], "2001:db8::1"),
    (PROXY, " 2001:db8::2 ", [PROXY], "2001:db8::2"),
    ("::1", "198.51.100.1", ["::1"], "198.51.100.1"),
    ("::ffff:10.0.0.1", "198.51.100.1", [PROXY], "198.51.100.1"),  # IPv4 on an IPv6 socket
    ("", "198.51.100.1", [PROXY], ""),  # no peer (a test client): never the header
]


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "client"), ADDRESSES)
def test_client_address(peer: str, forwarded: str, trusted: list[str], client: str) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(KIP_TRUSTED_PROXIES=trusted):
        assert client_address(request) == client


def test_a_bad_trusted_proxy_entry_names_the_setting() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"KIP_TRUSTED_PROXIES: 'proxy\.local'"):
        trusted_networks(("10.0.0.1", "proxy.local"))


addresses = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
junk = st.text(alphabet=st.characters(blacklist_characters=","), max_size=20)


@given(client=addresses, sent=st.lists(st.one_of(addresses, junk), max_size=4))
def test_what_a_client_sends_never_changes_its_address(client: str, sent: list[str]) -> None:
    networks = trusted_networks((PROXY,))
    address = ipaddress.ip_address(client)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # an IPv4 client on an IPv6 socket
    assume(address != ipaddress.ip_address(PROXY))
    # The proxy appends the client's address to whatever X-Forwarded-For the client sent.
    header = ", ".join([*sent, client])
    assert resolve(PROXY, header, networks) == str(address)
    # Straight to the app, not through the proxy, the header is not read at all.
    assert resolve(client, header, networks) == client
