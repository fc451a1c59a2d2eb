"""The account pages (allauth's, in the site's look): invitation links, closed sign-up, the
display name, password change, log out everywhere, verification, single sign-on button."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-pass-phrase"


def _ip() -> str:
    value = uuid.uuid4().int
    return f"10.{value % 250}.{(value >> 8) % 250}.{(value >> 16) % 250 + 1}"


def _logged_in(user: Any) -> Client:
    client = Client(REMOTE_ADDR=_ip())
    client.force_login(user)
    return client


def _signup(client: Client, username: str = "dora", email: str = "dora@example.com") -> Any:
    data = {"username": username, "email": email, "password1": "a-long-pass-phrase"}
    return client.post("/accounts/signup/", data)


def test_by_default_the_sign_up_page_asks_for_an_invitation() -> None:
    client = Client(REMOTE_ADDR=_ip())
    page = client.get("/accounts/signup/")
    assert "Sign-up is by invitation" in page.content.decode()
    _signup(client)
    assert not User.objects.filter(username="dora").exists()


def test_an_invitation_link_opens_the_sign_up_and_is_spent_by_it(moderator: Any) -> None:
    invitation, token = services.invitation_create(actor=moderator, max_uses=2)
    client = Client(REMOTE_ADDR=_ip())
    response = client.get(f"/accounts/invite/{token}/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/signup/"
    page = client.get("/accounts/signup/").content.decode()
    assert 'name="username"' in page
    response = _signup(client)
    assert response.status_code == 302
    assert User.objects.filter(username="dora").exists()
    invitation.refresh_from_db()
    assert invitation.uses == 1


def test_a_used_up_invitation_link_says_so(moderator: Any) -> None:
    _, token = services.invitation_create(actor=moderator, max_uses=1)
    first = Client(REMOTE_ADDR=_ip())
    first.get(f"/accounts/invite/{token}/")
    assert _signup(first).status_code == 302
    second = Client(REMOTE_ADDR=_ip())
    response = second.get(f"/accounts/invite/{token}/")
    assert response.status_code == 410
    assert "This invitation has been used up" in response.content.decode()


def test_an_invitation_used_up_while_the_form_was_open_makes_no_account(moderator: Any) -> None:
    _, token = services.invitation_create(actor=moderator, max_uses=1)
    first, second = Client(REMOTE_ADDR=_ip()), Client(REMOTE_ADDR=_ip())
    first.get(f"/accounts/invite/{token}/")
    second.get(f"/accounts/invite/{token}/")
    assert _signup(first).status_code == 302
    response = _signup(second, username="erin", email="erin@example.com")
    assert "Sign-up is by invitation" in response.content.decode()
    assert not User.objects.filter(username="erin").exists()


def test_an_expired_or_unknown_invitation_link_says_so(moderator: Any) -> None:
    _, token = services.invitation_create(actor=moderator)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    client = Client(REMOTE_ADDR=_ip())
    expired = client.get(f"/accounts/invite/{token}/")
    assert expired.status_code == 410
    assert "This invitation has expired" in expired.content.decode()
    unknown = client.get("/accounts/invite/not-a-real-token/")
    assert unknown.status_code == 410
    assert "not valid" in unknown.content.decode()


def test_an_invitation_for_one_address_fills_it_in_and_refuses_another(moderator: Any) -> None:
    _, token = services.invitation_create(actor=moderator, email="dora@example.com")
    client = Client(REMOTE_ADDR=_ip())
    client.get(f"/accounts/invite/{token}/")
    assert 'value="dora@example.com"' in client.get("/accounts/signup/").content.decode()
    response = _signup(client, email="eve@example.com")
    assert response.status_code == 400
    assert "another email address" in response.content.decode()
    assert _signup(client, email="Dora@Example.com").status_code == 302


def test_closed_sign_up_ignores_invitations(moderator: Any, settings: Any) -> None:
    _, token = services.invitation_create(actor=moderator)
    settings.CHAT_SIGNUP = "closed"
    client = Client(REMOTE_ADDR=_ip())
    client.get(f"/accounts/invite/{token}/")
    page = client.get("/accounts/signup/").content.decode()
    assert "does not take new sign-ups" in page
    _signup(client)
    assert not User.objects.filter(username="dora").exists()


def test_the_sign_up_page_names_the_field_of_an_email_taken_in_another_case(
    open_signup: None, alice: Any
) -> None:
    client = Client(REMOTE_ADDR=_ip())
    response = _signup(client, email=alice.email.upper())
    assert response.status_code == 400
    assert response.context["form"].errors["email"]


def _fresh_email() -> str:
    """An address no earlier test mailed (allauth spaces verification mails per address)."""
    return f"dora-{uuid.uuid4().hex[:12]}@example.com"


def test_sign_up_mails_a_verification_link_that_verifies_the_address(open_signup: None) -> None:
    client = Client(REMOTE_ADDR=_ip())
    email = _fresh_email()
    assert _signup(client, email=email).status_code == 302
    assert [message.to for message in mail.outbox] == [[email]]
    link = re.search(r"http://testserver(/accounts/confirm-email/\S+/)", str(mail.outbox[0].body))
    assert link is not None
    page = client.get(link.group(1))
    assert page.status_code == 200
    client.post(link.group(1))
    assert EmailAddress.objects.get(email=email).verified


def test_a_verification_link_for_another_account_does_not_verify_it(
    open_signup: None, alice: Any
) -> None:
    client = Client(REMOTE_ADDR=_ip())
    _signup(client, email=_fresh_email())
    link = re.search(r"http://testserver(/accounts/confirm-email/\S+/)", str(mail.outbox[0].body))
    assert link is not None
    # Alice follows Dora's link: it verifies Dora's address only (allauth signs it), and a
    # tampered key verifies nothing.
    browser = _logged_in(alice)
    tampered = link.group(1).replace(":", "x:", 1)
    response = browser.post(tampered)
    assert response.status_code == 404
    assert not EmailAddress.objects.filter(verified=True).exists()


def test_with_verification_required_an_unverified_account_cannot_log_in(
    settings: Any, alice: Any
) -> None:
    settings.CHAT_REQUIRE_EMAIL_VERIFICATION = True
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    alice.email = _fresh_email()
    alice.save(update_fields=["email"])
    EmailAddress.objects.create(user=alice, email=alice.email, primary=True, verified=False)
    client = Client(REMOTE_ADDR=_ip())
    response = client.post("/accounts/login/", {"login": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/").status_code == 302  # not signed in
    assert mail.outbox and mail.outbox[0].to == [alice.email]


def test_the_password_reset_mail_links_to_a_form_that_works_once(alice: Any) -> None:
    client = Client(REMOTE_ADDR=_ip())
    client.post("/accounts/password/reset/", {"email": alice.email})
    link = re.search(
        r"http://testserver(/accounts/password/reset/key/\S+/)", str(mail.outbox[0].body)
    )
    assert link is not None
    form = client.get(link.group(1), follow=True)
    action = form.redirect_chain[-1][0] if form.redirect_chain else link.group(1)
    data = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert client.post(action, data).status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert alice.tokens_valid_after is not None
    again = Client(REMOTE_ADDR=_ip()).get(link.group(1), follow=True)
    assert "Bad Token" in again.content.decode() or "invalid" in again.content.decode()


def test_the_password_change_page_keeps_this_session_and_ends_the_others(alice: Any) -> None:
    here, elsewhere = _logged_in(alice), _logged_in(alice)
    page = here.get("/accounts/password/change/").content.decode()
    assert "Current Password" in page or "Current password" in page
    data = {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert here.post("/accounts/password/change/", data).status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    alice.refresh_from_db()
    assert alice.tokens_valid_after is not None


def test_the_password_change_page_shows_the_validators_messages(alice: Any) -> None:
    here = _logged_in(alice)
    data = {"oldpassword": PASSWORD, "password1": "123", "password2": "123"}
    response = here.post("/accounts/password/change/", data)
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_log_out_everywhere_ends_every_session(alice: Any) -> None:
    here, elsewhere = _logged_in(alice), _logged_in(alice)
    assert "Log out everywhere" in here.get("/accounts/logout-everywhere/").content.decode()
    response = here.post("/accounts/logout-everywhere/")
    assert response.status_code == 302
    assert here.get("/").status_code == 302
    assert elsewhere.get("/").status_code == 302


def test_the_account_page_changes_the_display_name(alice: Any) -> None:
    client = _logged_in(alice)
    page = client.get("/accounts/profile/").content.decode()
    assert "Display name" in page
    response = client.post("/accounts/profile/", {"display_name": "  Alice Liddell "})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.display_name == "Alice Liddell"


@pytest.mark.parametrize("value", ["x" * 81, "bidi\u202eoverride"])
def test_the_account_page_refuses_bad_display_names(alice: Any, value: str) -> None:
    response = _logged_in(alice).post("/accounts/profile/", {"display_name": value})
    assert response.status_code == 400
    assert response.context["form"].errors["display_name"]
    assert User.objects.get(pk=alice.pk).display_name == alice.display_name


def test_the_login_page_offers_single_sign_on_only_when_configured(settings: Any) -> None:
    assert "Sign in with" not in Client().get("/accounts/login/").content.decode()
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "oidc",
                    "name": "Example SSO",
                    "client_id": "chatsite",
                    "secret": "s3cret",
                    "settings": {"server_url": "http://127.0.0.1:9/"},
                }
            ]
        }
    }
    page = Client().get("/accounts/login/").content.decode()
    assert "Sign in with Example SSO" in page
    assert 'action="/accounts/oidc/oidc/login/?process=login"' in page


def test_every_login_door_spends_the_auth_budget(settings: Any, alice: Any) -> None:
    settings.CHAT_AUTH_RATE = "1/min"
    client = Client(REMOTE_ADDR=_ip())
    client.post("/accounts/login/", {"login": "alice", "password": "nope"})
    response = client.post("/accounts/signup/", {"username": "x"})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()


def test_moderators_make_invitations_in_the_admin_and_see_the_link_once(moderator: Any) -> None:
    client = _logged_in(moderator)
    expires = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    data = {"expires_at_0": expires[:10], "expires_at_1": expires[11:], "max_uses": 2}
    response = client.post("/admin/accounts/invitation/add/", data, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    link = re.search(r"http://testserver/accounts/invite/([\w-]+)/", page)
    assert link is not None, page
    invitation = Invitation.objects.get()
    assert invitation.created_by == moderator and invitation.max_uses == 2
    assert invitation.token_hash == services.invitation_token_hash(link.group(1))


def test_members_cannot_reach_invitations_in_the_admin(alice: Any) -> None:
    response = _logged_in(alice).get("/admin/accounts/invitation/add/")
    assert response.status_code == 302  # to the admin's login


def test_a_password_set_in_the_admin_ends_the_accounts_sessions_and_tokens(alice: Any) -> None:
    elsewhere = _logged_in(alice)
    data = {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    admin = UserFactory.create(role="admin")
    response = _logged_in(admin).post(f"/admin/accounts/user/{alice.pk}/password/", data)
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    assert alice.tokens_valid_after is not None
    assert elsewhere.get("/").status_code == 302
