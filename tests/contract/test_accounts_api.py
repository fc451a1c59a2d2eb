"""/api/auth/ account routes: invitations, registration by invitation, password change, sign
out everywhere, the display name, and email verification before tokens (docs/api.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Invitation, User
from tests.contract.conftest import assert_error
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-pass-phrase"


def _invite(api: APIClient, **body: Any) -> dict[str, Any]:
    response = api.post("/api/auth/invites/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _register(token: str | None, username: str = "dora", email: str = "dora@example.com") -> Any:
    body = {"username": username, "email": email, "password": "a-long-pass-phrase"}
    if token is not None:
        body["invitation"] = token
    return APIClient().post("/api/auth/register/", body, format="json")


# --- Invitations ----------------------------------------------------------------------------


def test_a_moderator_makes_an_invitation_link_with_expiry_uses_and_email(
    moderator_api: APIClient, moderator: Any
) -> None:
    expires = timezone.now() + timedelta(days=2)
    body = _invite(
        moderator_api, expires_at=expires.isoformat(), max_uses=3, email="Dora@Example.COM"
    )
    assert body["url"] == f"http://testserver/accounts/invite/{body['token']}/"
    assert body["max_uses"] == 3 and body["uses"] == 0
    assert body["email"] == "Dora@example.com"
    invitation = Invitation.objects.get(pk=body["id"])
    assert invitation.created_by == moderator
    # Only a hash of the token is kept.
    assert invitation.token_hash == services.invitation_token_hash(body["token"])
    assert body["token"] not in invitation.token_hash


def test_invitations_default_to_one_use_for_chat_invite_days(
    moderator_api: APIClient, settings: Any
) -> None:
    settings.CHAT_INVITE_DAYS = 3
    body = _invite(moderator_api)
    assert body["max_uses"] == 1
    expires = Invitation.objects.get(pk=body["id"]).expires_at
    assert timedelta(days=3) - timedelta(minutes=1) < expires - timezone.now() <= timedelta(days=3)


def test_a_member_cannot_make_invitations(alice_api: APIClient) -> None:
    assert_error(alice_api.post("/api/auth/invites/", {}, format="json"), 403, "permission_denied")
    assert not Invitation.objects.exists()


def test_invitations_need_a_signed_in_user(anon: APIClient) -> None:
    assert_error(anon.post("/api/auth/invites/", {}, format="json"), 401)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"max_uses": 0}, "max_uses"),
        ({"max_uses": 1001}, "max_uses"),
        ({"max_uses": "many"}, "max_uses"),
        ({"email": "not an address"}, "email"),
    ],
)
def test_bad_invitations_are_400_naming_the_field(
    moderator_api: APIClient, body: dict[str, Any], field: str
) -> None:
    response = moderator_api.post("/api/auth/invites/", body, format="json")
    assert_error(response, 400, "validation_error", field)
    assert not Invitation.objects.exists()


def test_invitations_are_rate_limited_per_user(moderator_api: APIClient, settings: Any) -> None:
    settings.CHAT_INVITE_RATE = "2/min"
    _invite(moderator_api)
    _invite(moderator_api)
    response = moderator_api.post("/api/auth/invites/", {}, format="json")
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    assert Invitation.objects.count() == 2


# --- Registration by CHAT_SIGNUP ------------------------------------------------------------


def test_the_default_is_sign_up_by_invitation_only(moderator_api: APIClient) -> None:
    assert_error(_register(None), 400, "validation_error", "invitation")
    assert_error(_register("made-up-token"), 400, "validation_error", "invitation")
    token = _invite(moderator_api)["token"]
    response = _register(token)
    assert response.status_code == 201, response.content
    assert User.objects.filter(username="dora").exists()
    assert Invitation.objects.get().uses == 1


def test_a_used_up_invitation_is_refused_and_makes_no_account(moderator_api: APIClient) -> None:
    token = _invite(moderator_api, max_uses=1)["token"]
    assert _register(token).status_code == 201
    response = _register(token, username="erin", email="erin@example.com")
    error = assert_error(response, 400, "validation_error", "invitation")
    assert "used up" in error["fields"]["invitation"][0]
    assert not User.objects.filter(username="erin").exists()


def test_an_expired_invitation_is_refused(moderator_api: APIClient) -> None:
    token = _invite(moderator_api)["token"]
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    error = assert_error(_register(token), 400, "validation_error", "invitation")
    assert "expired" in error["fields"]["invitation"][0]


def test_an_invitation_for_one_address_refuses_another(moderator_api: APIClient) -> None:
    token = _invite(moderator_api, email="dora@example.com")["token"]
    assert_error(_register(token, email="eve@example.com"), 400, "validation_error", "email")
    # The same address in another case is the same address.
    assert _register(token, email="DORA@example.com").status_code == 201
    assert Invitation.objects.get().uses == 1


def test_an_invitation_is_not_spent_by_a_refused_sign_up(
    moderator_api: APIClient, alice: Any
) -> None:
    token = _invite(moderator_api)["token"]
    assert_error(_register(token, username="alice"), 400, "validation_error", "username")
    assert Invitation.objects.get().uses == 0


def test_closed_sign_up_refuses_every_registration(moderator_api: APIClient, settings: Any) -> None:
    token = _invite(moderator_api)["token"]
    settings.CHAT_SIGNUP = "closed"
    assert_error(_register(token), 403, "permission_denied")
    assert not User.objects.filter(username="dora").exists()


def test_registration_records_the_address_and_mails_a_verification_link(
    open_signup: None, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _register(None)
    assert response.status_code == 201
    user = User.objects.get(username="dora")
    assert EmailAddress.objects.get(user=user).email == "dora@example.com"
    assert [message.to for message in mail.outbox] == [["dora@example.com"]]
    assert "/accounts/confirm-email/" in mail.outbox[0].body


def test_emails_that_differ_only_in_case_or_unicode_form_are_one_address(
    open_signup: None, alice: Any
) -> None:
    response = _register(None, email=alice.email.upper())
    assert_error(response, 400, "validation_error", "email")
    decomposed = "zoe@cafe\u0301.example"  # e + combining acute accent
    assert _register(None, username="zoe", email=decomposed).status_code == 201
    composed = "ZOE@caf\u00e9.example"
    error = assert_error(_register(None, username="zoe2", email=composed), 400, "validation_error")
    assert "email" in error["fields"]
    assert User.objects.get(username="zoe").email == "zoe@caf\u00e9.example"


def test_unverified_accounts_get_no_tokens_when_verification_is_required(
    anon: APIClient, alice: Any, settings: Any
) -> None:
    settings.CHAT_REQUIRE_EMAIL_VERIFICATION = True
    credentials = {"username": "alice", "password": PASSWORD}
    error = assert_error(anon.post("/api/auth/token/", credentials, format="json"), 401)
    assert error["code"] == "email_unverified"
    EmailAddress.objects.create(user=alice, email=alice.email, primary=True, verified=True)
    assert anon.post("/api/auth/token/", credentials, format="json").status_code == 200


# --- Password, sign out everywhere ----------------------------------------------------------


def _pair(user: User) -> dict[str, str]:
    response = APIClient().post(
        "/api/auth/token/", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    return response.json()


def test_a_password_change_ends_every_earlier_token_and_answers_new_ones(alice: Any) -> None:
    old = _pair(alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    response = client.post("/api/auth/password/", body, format="json")
    assert response.status_code == 200, response.content
    new = response.json()
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    # The old access and refresh tokens are refused, the new ones work.
    assert client.get("/api/auth/me/").status_code == 401
    refresh = APIClient().post("/api/auth/token/refresh/", {"refresh": old["refresh"]})
    assert refresh.status_code == 401
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {new['access']}")
    assert fresh.get("/api/auth/me/").status_code == 200


def test_a_password_change_needs_the_current_password(alice_api: APIClient, alice: Any) -> None:
    body = {"current_password": "wrong", "new_password": NEW_PASSWORD}
    response = alice_api.post("/api/auth/password/", body, format="json")
    assert_error(response, 400, "validation_error", "current_password")
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert alice.tokens_valid_after is None


@pytest.mark.parametrize("new_password", ["123", "password", "12345678901", ""])
def test_a_new_password_must_pass_the_validators(
    alice_api: APIClient, alice: Any, new_password: str
) -> None:
    body = {"current_password": PASSWORD, "new_password": new_password}
    response = alice_api.post("/api/auth/password/", body, format="json")
    assert_error(response, 400, "validation_error", "new_password")
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_session_that_changes_its_password_stays_signed_in(alice: Any) -> None:
    browser = APIClient(enforce_csrf_checks=False)
    browser.force_login(alice)
    other = APIClient()
    other.force_login(alice)
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert browser.post("/api/auth/password/", body, format="json").status_code == 200
    assert browser.get("/api/auth/me/").status_code == 200
    assert other.get("/api/auth/me/").status_code in (401, 403)


def test_signing_out_everywhere_ends_tokens_and_sessions_also_after_reactivation(
    alice: Any, moderator: Any
) -> None:
    pair = _pair(alice)
    browser = APIClient()
    browser.force_login(alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert client.post("/api/auth/logout-everywhere/").status_code == 204
    assert client.get("/api/auth/me/").status_code == 401
    assert browser.get("/api/auth/me/").status_code in (401, 403)
    assert (
        APIClient().post("/api/auth/token/refresh/", {"refresh": pair["refresh"]}).status_code
        == 401
    )
    # A deactivation and reactivation later, the old tokens stay dead.
    services.user_deactivate(actor=moderator, user=alice)
    services.user_reactivate(actor=moderator, user=alice)
    assert client.get("/api/auth/me/").status_code == 401
    assert _pair(alice)["access"]


def test_signing_out_everywhere_needs_a_signed_in_user(anon: APIClient) -> None:
    assert_error(anon.post("/api/auth/logout-everywhere/"), 401)


# --- The display name -----------------------------------------------------------------------


def test_patch_me_changes_the_display_name(alice_api: APIClient, alice: Any) -> None:
    response = alice_api.patch("/api/auth/me/", {"display_name": "  Alice A.  "}, format="json")
    assert response.status_code == 200
    assert response.json()["display_name"] == "Alice A."
    alice.refresh_from_db()
    assert alice.display_name == "Alice A."
    cleared = alice_api.patch("/api/auth/me/", {"display_name": ""}, format="json")
    assert cleared.json()["display_name"] == ""


@pytest.mark.parametrize("value", ["x" * 81, "bad\u202ename", "tab\there", 42, None, "\x00"])
def test_patch_me_refuses_bad_display_names_naming_the_field(
    alice_api: APIClient, alice: Any, value: Any
) -> None:
    response = alice_api.patch("/api/auth/me/", {"display_name": value}, format="json")
    assert_error(response, 400, "validation_error", "display_name")
    assert User.objects.get(pk=alice.pk).display_name == alice.display_name


def test_patch_me_is_rate_limited(alice_api: APIClient, settings: Any) -> None:
    settings.CHAT_PROFILE_RATE = "1/min"
    assert alice_api.patch("/api/auth/me/", {"display_name": "A"}, format="json").status_code == 200
    response = alice_api.patch("/api/auth/me/", {"display_name": "B"}, format="json")
    assert_error(response, 429, "rate_limited")
