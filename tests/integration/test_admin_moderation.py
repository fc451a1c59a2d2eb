"""Moderation in the Django admin, driven with Django's test client, with its live effects.

The WebSocket clients are the real consumer (the ASGI WebSocket stack) on the real Redis
channel layer; REST calls carry real JWTs. Transactional database: the admin's changes commit,
so their events leave through ``transaction.on_commit`` as in production.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.admin.models import LogEntry
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from chat import selectors
from chat.models import Channel, Membership, Message, MessageRevision
from chatsite.asgi import websocket_app
from tests.factories import ChannelFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5
MESSAGES_URL = "/admin/chat/message/"
CHANNELS_URL = "/admin/chat/channel/"
USERS_URL = "/admin/accounts/user/"
AUDIT_URL = "/admin/chat/auditentry/"


@pytest.fixture(autouse=True)
def _generous_message_rate(settings: Any) -> None:
    settings.CHAT_MESSAGE_RATE = "100000/min"


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def run_action(client: Client, url: str, action: str, *objects: Any) -> Any:
    """Post an admin changelist action on the given objects, as the admin's form does."""
    return client.post(
        url, {"action": action, "_selected_action": [str(obj.pk) for obj in objects]}
    )


def audit_trail(target: Any) -> list[tuple[str, str]]:
    """(moderator, message) of each entry on an object, oldest first."""
    return [
        (str(entry.user), entry.get_change_message())
        for entry in LogEntry.objects.filter(object_id=str(target.pk))
        .select_related("user")
        .order_by("action_time", "pk")
    ]


def api_client(access_token: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return client


async def open_socket(user: Any) -> WebsocketCommunicator:
    """A WebSocket client signed in with the user's access token, past its welcome."""
    token = await database_sync_to_async(lambda: str(AccessToken.for_user(user)))()
    communicator = WebsocketCommunicator(
        websocket_app, "/ws/chat/", subprotocols=["chat.v1", f"bearer.{token}"]
    )
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    welcome = await communicator.receive_json_from(timeout=TIMEOUT)
    assert welcome["type"] == "welcome"
    return communicator


async def next_event(communicator: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    """The next event of one type (presence and the like may come first)."""
    while True:
        event = await communicator.receive_json_from(timeout=TIMEOUT)
        if event["type"] == kind:
            return event


async def close_code(communicator: WebsocketCommunicator) -> int:
    """Read frames until the server closes the socket; return its close code."""
    while True:
        output = await communicator.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            return int(output.get("code", 1000))


# --- access ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/", MESSAGES_URL, USERS_URL])
def test_a_member_at_the_admin_is_sent_to_the_login_page(alice: Any, path: str) -> None:
    client = signed_in(alice)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={path}"
    login_page = client.get(response["Location"])
    assert login_page.status_code == 200
    assert b"not authorized to access this page" in login_page.content
    assert b"Site administration" not in login_page.content


def test_a_member_cannot_run_an_action(alice: Any, bob: Any, channel: Any, post: Any) -> None:
    message = post(bob, channel, "stays")

    response = run_action(signed_in(alice), MESSAGES_URL, "tombstone_selected", message)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    message.refresh_from_db()
    assert message.content == "stays" and message.deleted_at is None


def test_a_moderator_sees_the_moderation_index(moderator: Any) -> None:
    response = signed_in(moderator).get("/admin/")

    assert response.status_code == 200
    for section in (MESSAGES_URL, CHANNELS_URL, USERS_URL, AUDIT_URL):
        assert section.encode() in response.content
    # Roles decide access: no hand-made rows, no deletes.
    assert b"/admin/chat/message/add/" not in response.content
    assert b"/admin/chat/channel/add/" not in response.content


def test_messages_are_read_only_in_the_admin(moderator: Any, alice: Any, channel: Any, post: Any):
    message = post(alice, channel, "original")
    client = signed_in(moderator)

    page = client.get(f"{MESSAGES_URL}{message.pk}/change/")
    assert page.status_code == 200
    assert b"View message" in page.content
    client.post(f"{MESSAGES_URL}{message.pk}/change/", {"content": "rewritten"})
    message.refresh_from_db()
    assert message.content == "original"
    assert client.get(f"{MESSAGES_URL}{message.pk}/delete/").status_code == 403


def test_createsuperuser_makes_an_admin_who_acts_as_moderator(db: None) -> None:
    root = User.objects.create_superuser("root", "root@example.com", "a-long-password-1")
    assert root.role == "admin"
    assert signed_in(root).get(AUDIT_URL).status_code == 200


# --- messages ---------------------------------------------------------------------------


def test_message_list_search_and_filters(moderator: Any, alice: Any, bob: Any, channel: Any, post):
    post(alice, channel, "the quarterly report is late")
    gone = post(bob, channel, "buy cheap watches")
    post(bob, channel, "lunch?")
    client = signed_in(moderator)
    run_action(client, MESSAGES_URL, "tombstone_selected", gone)

    def listed(query: str) -> list[str]:
        response = client.get(f"{MESSAGES_URL}?{query}")
        assert response.status_code == 200
        return [str(m.pk) for m in response.context["cl"].result_list]

    by_text = listed("q=quarterly")
    assert len(by_text) == 1
    assert len(listed(f"q={bob.username}")) == 2
    assert listed("deleted=yes") == [str(gone.pk)]
    assert len(listed("deleted=no")) == 2
    assert len(listed(f"user__id__exact={alice.pk}")) == 1
    assert len(listed(f"channel__id__exact={channel.pk}")) == 3
    page = client.get(MESSAGES_URL)
    assert b"(tombstoned)" in page.content and b"lunch?" in page.content


def test_moderators_read_private_channels_they_are_not_in(
    moderator: Any, alice: Any, private_channel: Any, post: Any
) -> None:
    post(alice, private_channel, "private but reported")

    response = signed_in(moderator).get(MESSAGES_URL)

    assert b"private but reported" in response.content


async def test_tombstone_action_reaches_connected_clients_and_the_audit_trail(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    message = await database_sync_to_async(post)(bob, channel, "abusive words")
    socket = await open_socket(alice)
    try:
        client = await sync_to_async(signed_in)(moderator)
        response = await sync_to_async(run_action)(
            client, MESSAGES_URL, "tombstone_selected", message
        )
        assert response.status_code == 302

        event = await next_event(socket, "message.deleted")
    finally:
        await socket.disconnect()

    assert event == {
        "type": "message.deleted",
        "seq": 2,
        "id": str(message.pk),
        "channel_id": str(channel.pk),
    }

    def check_database() -> None:
        changes, _ = selectors.message_page(user=alice, channel_id=channel.pk, since_seq=1)
        assert [(m.pk, m.content, m.deleted_at is not None) for m in changes] == [
            (message.pk, "", True)
        ]
        assert audit_trail(message) == [
            ("mod", f"Tombstoned message 1 by {bob.username} in #general (change seq 2).")
        ]

    await database_sync_to_async(check_database)()


async def test_restore_action_sends_message_updated_with_the_content(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    message = await database_sync_to_async(post)(bob, channel, "a fair point")
    client = await sync_to_async(signed_in)(moderator)
    await sync_to_async(run_action)(client, MESSAGES_URL, "tombstone_selected", message)
    socket = await open_socket(alice)
    try:
        await sync_to_async(run_action)(client, MESSAGES_URL, "restore_selected", message)
        event = await next_event(socket, "message.updated")
    finally:
        await socket.disconnect()

    assert event["seq"] == 3
    assert event["message"]["id"] == str(message.pk)
    assert event["message"]["content"] == "a fair point"
    assert event["message"]["deleted"] is False

    def check_database() -> None:
        changes, _ = selectors.message_page(user=alice, channel_id=channel.pk, since_seq=2)
        assert [(m.pk, m.content) for m in changes] == [(message.pk, "a fair point")]
        assert [line for _, line in audit_trail(message)] == [
            f"Tombstoned message 1 by {bob.username} in #general (change seq 2).",
            f"Restored message 1 by {bob.username} in #general (change seq 3).",
        ]

    await database_sync_to_async(check_database)()


def test_detail_view_shows_the_edit_history(moderator: Any, alice: Any, channel: Any, post: Any):
    from chat import services

    message = post(alice, channel, "first draft")
    services.message_edit(user=alice, message_id=message.pk, content="second draft")
    client = signed_in(moderator)
    run_action(client, MESSAGES_URL, "tombstone_selected", message)

    page = client.get(f"{MESSAGES_URL}{message.pk}/change/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "edit history" in text.lower()
    assert "first draft" in text and "second draft" in text
    assert text.index("first draft") < text.index("second draft")


def test_restoring_an_authors_own_deletion_is_refused(
    moderator: Any, alice: Any, channel: Any, post: Any
) -> None:
    from chat import services

    message = post(alice, channel, "regret")
    services.message_delete(user=alice, message_id=message.pk)
    client = signed_in(moderator)

    response = run_action(client, MESSAGES_URL, "restore_selected", message)

    assert response.status_code == 302
    notices = [str(m) for m in client.get(response["Location"]).context["messages"]]
    assert any("the author deleted this message" in notice for notice in notices)
    message.refresh_from_db()
    assert message.deleted_at is not None and message.content == ""
    assert not MessageRevision.objects.filter(message=message).exists()


# --- users ------------------------------------------------------------------------------


async def test_deactivate_closes_sockets_with_4403_and_the_next_rest_call_is_401(
    moderator: Any, bob: Any, channel: Any
) -> None:
    await database_sync_to_async(MembershipFactory.create)(channel=channel, user=bob)
    refresh = await database_sync_to_async(RefreshToken.for_user)(bob)
    access = str(refresh.access_token)
    rest = api_client(access)
    assert (await sync_to_async(rest.get)("/api/auth/me/")).status_code == 200
    socket = await open_socket(bob)

    client = await sync_to_async(signed_in)(moderator)
    response = await sync_to_async(run_action)(client, USERS_URL, "deactivate_selected", bob)
    assert response.status_code == 302

    assert await close_code(socket) == 4403
    me = await sync_to_async(rest.get)("/api/auth/me/")
    assert me.status_code == 401
    posted = await sync_to_async(rest.post)(
        "/api/chat/messages", {"channel_id": str(channel.pk), "content": "hi"}, format="json"
    )
    assert posted.status_code == 401
    refreshed = await sync_to_async(APIClient().post)(
        "/api/auth/token/refresh/", {"refresh": str(refresh)}, format="json"
    )
    assert refreshed.status_code == 401

    # Nor can they come back over a WebSocket.
    again = WebsocketCommunicator(
        websocket_app, "/ws/chat/", subprotocols=["chat.v1", f"bearer.{access}"]
    )
    await again.connect(timeout=TIMEOUT)
    assert await close_code(again) == 4403

    def check_audit() -> None:
        assert audit_trail(bob) == [
            ("mod", "Deactivated bob: signed out everywhere, 1 refresh token(s) revoked.")
        ]

    await database_sync_to_async(check_audit)()


def test_deactivate_ends_the_web_session_and_reactivate_lets_them_sign_in(
    moderator: Any, bob: Any
) -> None:
    from tests.factories import PASSWORD

    bob_browser = signed_in(bob)
    assert bob_browser.get("/api/auth/me/").status_code == 200
    client = signed_in(moderator)

    run_action(client, USERS_URL, "deactivate_selected", bob)

    assert bob_browser.get("/api/auth/me/").status_code in (401, 403)
    bob.refresh_from_db()
    assert not bob.is_active

    run_action(client, USERS_URL, "reactivate_selected", bob)

    bob.refresh_from_db()
    assert bob.is_active
    token = APIClient().post(
        "/api/auth/token/", {"username": "bob", "password": PASSWORD}, format="json"
    )
    assert token.status_code == 200
    assert [line for _, line in audit_trail(bob)][-1] == (
        "Reactivated bob: they can sign in again."
    )


def test_a_moderator_cannot_deactivate_another_moderator_or_edit_users(moderator: Any) -> None:
    other = UserFactory.create(role="moderator")
    username = other.username
    client = signed_in(moderator)

    response = run_action(client, USERS_URL, "deactivate_selected", other)

    notices = [str(m) for m in client.get(response["Location"]).context["messages"]]
    assert any("Only someone above the moderator role" in notice for notice in notices)
    other.refresh_from_db()
    assert other.is_active
    assert client.get(f"{USERS_URL}{other.pk}/change/").status_code == 200  # view only
    client.post(f"{USERS_URL}{other.pk}/change/", {"username": "renamed", "role": "member"})
    other.refresh_from_db()
    assert (other.username, other.role) == (username, "moderator")


def test_an_admin_changes_a_role_with_a_readable_audit_line(bob: Any) -> None:
    admin_user = UserFactory.create(role="admin")
    client = signed_in(admin_user)
    page = client.get(f"{USERS_URL}{bob.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "username": bob.username,
            "email": bob.email,
            "display_name": bob.display_name,
            "role": "moderator",
            "date_joined_0": "",
        }
    )
    data = {k: v for k, v in data.items() if k in form.fields and k not in form.Meta.exclude}

    response = client.post(f"{USERS_URL}{bob.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    bob.refresh_from_db()
    assert (bob.role, bob.is_staff) == ("moderator", True)
    assert audit_trail(bob)[-1] == (
        admin_user.username,
        "Changed role of bob from member to moderator.",
    )


# --- channels ---------------------------------------------------------------------------


def test_archive_makes_posting_403_and_unarchive_opens_it_again(
    moderator: Any, alice: Any, channel: Any
) -> None:
    client = signed_in(moderator)
    rest = api_client(RefreshToken.for_user(alice).access_token)
    body = {"channel_id": str(channel.pk), "content": "still here?"}

    run_action(client, CHANNELS_URL, "archive_selected", channel)

    refused = rest.post("/api/chat/messages", body, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "archived"

    run_action(client, CHANNELS_URL, "unarchive_selected", channel)

    assert rest.post("/api/chat/messages", body, format="json").status_code == 201
    assert audit_trail(channel) == [
        ("mod", "Archived #general: it is read-only now."),
        ("mod", "Unarchived #general: members can post again."),
    ]


def test_channel_list_shows_member_counts(moderator: Any, alice: Any, bob: Any, channel: Any):
    MembershipFactory.create(channel=channel, user=bob)
    ChannelFactory.create(name="empty-room")

    response = signed_in(moderator).get(CHANNELS_URL)

    counts = {c.name: c.member_count for c in response.context["cl"].result_list}
    assert counts == {"general": 2, "empty-room": 0}


def _membership_form(channel: Channel, rows: list[dict[str, Any]], initial: int) -> dict[str, Any]:
    data: dict[str, Any] = {
        "memberships-TOTAL_FORMS": str(len(rows)),
        "memberships-INITIAL_FORMS": str(initial),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"memberships-{index}-{key}"] = value
        data[f"memberships-{index}-channel"] = str(channel.pk)
    return data


def test_member_management_goes_through_the_services_and_is_audited(
    moderator: Any, alice: Any, bob: Any, channel: Any
) -> None:
    carol = UserFactory.create(username="carol")
    alice_membership = Membership.objects.get(channel=channel, user=alice)
    client = signed_in(moderator)
    rows = [
        {"id": str(alice_membership.pk), "role": "owner", "DELETE": "on"},
        {"id": "", "user": str(bob.pk), "role": "owner"},
        {"id": "", "user": str(carol.pk), "role": "member"},
    ]

    response = client.post(
        f"{CHANNELS_URL}{channel.pk}/change/", _membership_form(channel, rows, 1)
    )

    assert response.status_code == 302
    members = dict(Membership.objects.filter(channel=channel).values_list("user__username", "role"))
    assert members == {"bob": "owner", "carol": "member"}
    channel.refresh_from_db()
    assert channel.last_seq == 0  # the channel row itself was not rewritten
    assert audit_trail(channel) == [
        (
            "mod",
            "Added bob to #general as owner. Added carol to #general as member. "
            "Removed alice from #general.",
        )
    ]


def test_a_deactivated_user_cannot_be_added_to_a_channel(
    moderator: Any, bob: Any, channel: Any
) -> None:
    User.objects.filter(pk=bob.pk).update(is_active=False)
    rows = [{"id": "", "user": str(bob.pk), "role": "member"}]
    alice_row = {
        "id": str(Membership.objects.get(channel=channel).pk),
        "role": "owner",
    }

    response = signed_in(moderator).post(
        f"{CHANNELS_URL}{channel.pk}/change/", _membership_form(channel, [alice_row, *rows], 1)
    )

    assert response.status_code == 200
    assert b"This user is deactivated." in response.content
    assert not Membership.objects.filter(channel=channel, user=bob).exists()


# --- the audit log ----------------------------------------------------------------------


def test_the_audit_log_lists_every_action(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    message = post(bob, channel, "spam")
    client = signed_in(moderator)
    run_action(client, MESSAGES_URL, "tombstone_selected", message)
    run_action(client, MESSAGES_URL, "restore_selected", message)
    run_action(client, USERS_URL, "deactivate_selected", bob)
    run_action(client, CHANNELS_URL, "archive_selected", channel)

    page = client.get(AUDIT_URL)

    assert page.status_code == 200
    text = page.content.decode()
    for line in (
        "Tombstoned message 1 by bob in #general",
        "Restored message 1 by bob in #general",
        "Deactivated bob",
        "Archived #general",
    ):
        assert line in text
    assert client.get(f"{AUDIT_URL}?q=Archived").context["cl"].result_count == 1
    assert client.get(f"{AUDIT_URL}add/").status_code == 403
    entry = LogEntry.objects.order_by("pk").first()
    assert entry is not None
    assert client.post(f"{AUDIT_URL}{entry.pk}/delete/").status_code == 403
    assert LogEntry.objects.count() == 4


def test_unknown_ids_in_an_action_change_nothing(moderator: Any, alice: Any, channel: Any, post):
    message = post(alice, channel, "kept")
    response = signed_in(moderator).post(
        MESSAGES_URL, {"action": "tombstone_selected", "_selected_action": [str(uuid.uuid4())]}
    )
    assert response.status_code == 302
    assert Message.objects.get(pk=message.pk).content == "kept"
    assert not LogEntry.objects.exists()


def test_an_admin_creates_a_user_and_a_moderator_cannot(moderator: Any) -> None:
    assert signed_in(moderator).get(f"{USERS_URL}add/").status_code == 403
    admin_user = UserFactory.create(role="admin")
    password = "a-Strong-pass-123"

    response = signed_in(admin_user).post(
        f"{USERS_URL}add/",
        {
            "username": "dave",
            "email": "dave@example.com",
            "role": "moderator",
            "usable_password": "true",
            "password1": password,
            "password2": password,
        },
    )

    assert response.status_code == 302
    dave = User.objects.get(username="dave")
    assert (dave.role, dave.is_staff, dave.check_password(password)) == ("moderator", True, True)


def test_an_action_with_nothing_to_do_says_so(moderator: Any, alice: Any, channel: Any, post):
    message = post(alice, channel, "fine")
    client = signed_in(moderator)

    response = run_action(client, MESSAGES_URL, "restore_selected", message)

    notices = [str(m) for m in client.get(response["Location"]).context["messages"]]
    assert notices == ["None of the selected messages is tombstoned."]
    assert not LogEntry.objects.exists()


def test_since_seq_over_rest_carries_a_tombstone_and_its_restore(
    moderator: Any, alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    message = post(bob, channel, "second thoughts")
    client = signed_in(moderator)
    rest = api_client(RefreshToken.for_user(alice).access_token)
    url = f"/api/chat/messages?channel_id={channel.pk}&since_seq=1"

    run_action(client, MESSAGES_URL, "tombstone_selected", message)
    after_tombstone = rest.get(url).json()["results"]
    run_action(client, MESSAGES_URL, "restore_selected", message)
    after_restore = rest.get(url).json()["results"]

    assert [(m["id"], m["deleted"], m["change_seq"]) for m in after_tombstone] == [
        (str(message.pk), True, 2)
    ]
    assert [(m["id"], m["content"], m["change_seq"]) for m in after_restore] == [
        (str(message.pk), "second thoughts", 3)
    ]


def test_a_moderator_sets_a_channel_retention_in_the_admin(
    moderator: Any, alice: Any, channel: Any
) -> None:
    alice_membership = Membership.objects.get(channel=channel, user=alice)
    data = _membership_form(channel, [{"id": str(alice_membership.pk), "role": "owner"}], 1)
    url = f"{CHANNELS_URL}{channel.pk}/change/"
    client = signed_in(moderator)

    response = client.post(url, {**data, "retention_days": "30"})
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.retention_days == 30
    assert audit_trail(channel) == [("mod", "Set retention to 30 days.")]

    response = client.post(url, {**data, "retention_days": "-1"})
    assert response.status_code == 200  # the form again, with the problem
    assert "retention_days" in response.context["adminform"].form.errors
    response = client.post(url, {**data, "retention_days": ""})
    channel.refresh_from_db()
    assert channel.retention_days is None
