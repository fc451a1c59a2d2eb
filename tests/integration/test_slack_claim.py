"""Claiming an imported account: the pages through Django's client, and end to end against a
live Daphne (the runtime role) mailing a real SMTP server (aiosmtpd), the link followed
(docs/integrations.md, "Moving in from Slack")."""

from __future__ import annotations

import email
import email.policy
import http.cookiejar
import io
import queue
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client

from accounts.models import User
from chatsite import rls
from integrations import claims
from integrations.models import ImportedAccount
from tests import live
from tests import slack_export as sx
from tests.factories import UserFactory

PASSWORD = "a long new password 42"
LINK_RE = re.compile(r"https?://\S+/accounts/claim/[^/\s]+/[^/\s]+/")


def _import(tmp_path: Path) -> None:
    users = [sx.user("U01", "alice", "Alice@Example.com"), sx.user("U02", "bob", "bob@example.com")]
    path = sx.write_export(tmp_path / "export.zip", users=users, channels=[])
    call_command("import_slack", str(path), stdout=io.StringIO())


def _alice() -> User:
    with rls.acting_as_service():
        return User.objects.get(username="alice")


@pytest.mark.django_db
class TestClaimPages:
    @pytest.fixture(autouse=True)
    def imported(self, tmp_path: Path, settings: Any) -> None:
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        settings.CHAT_SITE_URL = "http://chat.example"
        _import(tmp_path)

    def _link(self, client: Client, address: str = "alice@example.com") -> str:
        answer = client.post("/accounts/claim/", {"email": address})
        assert answer.status_code == 200
        found = LINK_RE.search(str(mail.outbox[-1].body))
        assert found is not None, mail.outbox[-1].body
        return urllib.parse.urlsplit(found.group(0)).path

    def test_the_login_page_leads_to_the_claim_page(self, client: Client) -> None:
        assert b'href="/accounts/claim/"' in client.get("/accounts/login/").content
        page = client.get("/accounts/claim/")
        assert page.status_code == 200 and b"Claim your imported account" in page.content

    def test_a_claim_sets_the_password_activates_and_verifies(self, client: Client) -> None:
        path = self._link(client, "ALICE@example.com")
        assert mail.outbox[-1].to == ["alice@example.com"]
        assert "[chatsite] Claim your account" in mail.outbox[-1].subject
        form = client.get(path)
        assert form.status_code == 200 and b"alice" in form.content
        mismatch = client.post(path, {"new_password1": PASSWORD, "new_password2": "other"})
        assert mismatch.status_code == 400 and b"new_password2" in mismatch.content
        assert not _alice().is_active
        done = client.post(path, {"new_password1": PASSWORD, "new_password2": PASSWORD})
        assert done.status_code == 302 and done["Location"] == "/accounts/login/"
        alice = _alice()
        assert alice.is_active and alice.check_password(PASSWORD)
        assert EmailAddress.objects.get(user=alice).verified
        with rls.acting_as_service():
            assert ImportedAccount.objects.get(user=alice).claimed_at is not None
        # The link works once.
        assert client.get(path).status_code == 410
        login = client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
        assert login.status_code == 302

    def test_unknown_addresses_get_the_same_answer_and_no_mail(self, client: Client) -> None:
        known = client.post("/accounts/claim/", {"email": "bob@example.com"})
        unknown = client.post("/accounts/claim/", {"email": "nobody@example.com"})
        assert known.status_code == unknown.status_code == 200

        def shown(page: bytes, name: bytes) -> bytes:
            return re.sub(rb'value="[^"]+"|content="[^"]+"', b"", page.replace(name, b"X@"))

        assert shown(known.content, b"bob@") == shown(unknown.content, b"nobody@")
        assert len(mail.outbox) == 1

    def test_accounts_that_were_not_imported_or_are_claimed_get_no_mail(
        self, client: Client
    ) -> None:
        UserFactory.create(username="dora", email="dora@example.com", is_active=False)
        client.post("/accounts/claim/", {"email": "dora@example.com"})
        with rls.acting_as_service():
            ImportedAccount.objects.filter(user__username="bob").update(
                claimed_at="2020-01-01T00:00Z"
            )
        client.post("/accounts/claim/", {"email": "bob@example.com"})
        nobody = UserFactory.create(email="u07@slack-import.invalid", is_active=False)
        with rls.acting_as_service():
            ImportedAccount.objects.create(user=nobody, source_id="U07")
        client.post("/accounts/claim/", {"email": "u07@slack-import.invalid"})
        assert mail.outbox == []

    def test_a_stale_link_or_a_deactivated_claimed_account_is_refused(self, client: Client) -> None:
        path = self._link(client)
        client.post(path, {"new_password1": PASSWORD, "new_password2": PASSWORD})
        alice = _alice()
        alice.is_active = False  # a moderator's deactivation, later
        alice.save(update_fields=["is_active"])
        assert client.get(path).status_code == 410
        client.post("/accounts/claim/", {"email": "alice@example.com"})
        assert len(mail.outbox) == 1  # no second link

    @pytest.mark.parametrize(
        "path",
        ["/accounts/claim/xx/yy/", "/accounts/claim/MQ/bad-token/", "/accounts/claim/%FF/x/"],
    )
    def test_bad_links_are_410(self, client: Client, path: str) -> None:
        page = client.get(path)
        assert page.status_code == 410 and b"does not work" in page.content

    def test_a_token_for_one_account_does_not_open_another(self, client: Client) -> None:
        with rls.acting_as_service():
            bob = User.objects.get(username="bob")
        token = claims.claim_tokens.make_token(_alice())
        uid = urllib.parse.quote(claims.urlsafe_base64_encode(str(bob.pk).encode()))
        assert client.get(f"/accounts/claim/{uid}/{token}/").status_code == 410

    def test_a_password_reset_token_is_not_a_claim_token(self, client: Client) -> None:
        from django.contrib.auth.tokens import default_token_generator

        alice = _alice()
        uid = claims.urlsafe_base64_encode(str(alice.pk).encode())
        token = default_token_generator.make_token(alice)
        assert client.get(f"/accounts/claim/{uid}/{token}/").status_code == 410

    @pytest.mark.parametrize("address", ["", "not-an-email", "a" * 300 + "@example.com"])
    def test_bad_addresses_are_400_naming_the_field(self, client: Client, address: str) -> None:
        answer = client.post("/accounts/claim/", {"email": address})
        assert answer.status_code == 400 and b'id="id_email"' in answer.content
        assert b"email" in answer.content.lower()
        assert mail.outbox == []

    def test_claim_mail_to_one_address_is_rate_limited(self, client: Client, settings: Any) -> None:
        settings.CHAT_CLAIM_EMAIL_RATE = "2/hour"
        for _ in range(2):
            assert client.post("/accounts/claim/", {"email": "bob@example.com"}).status_code == 200
        limited = client.post("/accounts/claim/", {"email": "BOB@example.com"})
        assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
        assert b"Too many attempts" in limited.content
        assert len(mail.outbox) == 2

    def test_claims_from_one_address_spend_the_auth_budget(
        self, client: Client, settings: Any
    ) -> None:
        settings.CHAT_AUTH_RATE = "2/min"
        for number in range(2):
            client.post("/accounts/claim/", {"email": f"x{number}@example.com"})
        assert client.post("/accounts/claim/", {"email": "y@example.com"}).status_code == 429

    def test_signed_in_people_are_sent_home(self, client: Client) -> None:
        client.force_login(UserFactory.create())
        answer = client.get("/accounts/claim/")
        assert answer.status_code == 302 and answer["Location"] == "/"


# --- End to end ------------------------------------------------------------------------


class Mailbox:
    def __init__(self) -> None:
        self.messages: queue.Queue[EmailMessage] = queue.Queue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.put(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), live.free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def server(
    smtp: tuple[Mailbox, int], transactional_db: None, tmp_path: Path, settings: Any
) -> Iterator[live.LiveServer]:
    from tests.conftest import _TEST_PREFIX

    env = live.server_environment(
        database_url=live.database_url_for(connection.settings_dict),
        redis_url=settings.REDIS_URL,
        prefix=_TEST_PREFIX,
        extra={"EMAIL_URL": f"smtp://127.0.0.1:{smtp[1]}"},
    )
    env["CHAT_SITE_URL"] = "http://chat.example"
    servers = live.start_servers(1, log_dir=tmp_path, env=env)
    yield servers[0]
    live.stop_servers(servers)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _request(
    opener: urllib.request.OpenerDirector, url: str, form: dict[str, str] | None = None
) -> tuple[int, str, dict[str, str]]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, headers={"Referer": url})  # noqa: S310
    try:
        with opener.open(request, timeout=15) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


@pytest.mark.live
def test_claim_end_to_end_over_a_live_server_and_real_smtp(
    server: live.LiveServer, smtp: tuple[Mailbox, int], tmp_path: Path
) -> None:
    _import(tmp_path)
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect
    )
    status, page, _ = _request(opener, f"{server.url}/accounts/claim/")
    assert status == 200, server.log()
    status, page, _ = _request(
        opener,
        f"{server.url}/accounts/claim/",
        {"email": "alice@example.com", "csrfmiddlewaretoken": _csrf(page)},
    )
    assert status == 200 and "Check your email" in page, server.log()
    try:
        message = smtp[0].messages.get(timeout=30)
    except queue.Empty:
        raise AssertionError(f"no email arrived; server log:\n{server.log()}") from None
    assert message["To"] == "alice@example.com"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = LINK_RE.search(body.get_content())
    assert found is not None and found.group(0).startswith("http://chat.example/")
    link = server.url + urllib.parse.urlsplit(found.group(0)).path
    status, page, _ = _request(opener, link)
    assert status == 200 and "Set your password" in page
    status, _, headers = _request(
        opener,
        link,
        {"new_password1": PASSWORD, "new_password2": PASSWORD,
         "csrfmiddlewaretoken": _csrf(page)},
    )  # fmt: skip
    assert status == 302 and headers["Location"] == "/accounts/login/", server.log()
    status, page, _ = _request(opener, f"{server.url}/accounts/login/")
    status, _, headers = _request(
        opener,
        f"{server.url}/accounts/login/",
        {"login": "alice", "password": PASSWORD, "csrfmiddlewaretoken": _csrf(page)},
    )
    assert status == 302 and headers["Location"] == "/", server.log()
    with rls.acting_as_service():
        alice = User.objects.get(username="alice")
        assert alice.is_active
        assert EmailAddress.objects.get(user=alice, verified=True).email == "alice@example.com"
