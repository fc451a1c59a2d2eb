"""The server-rendered pages: auth, channel list, room (docs/web.md), through Django's client."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from chat import services
from chat.models import Membership, Message
from tests.factories import PASSWORD, ChannelFactory, MembershipFactory

# The sign-up doors here are tested as CHAT_SIGNUP=open runs them;
# tests/contract/test_accounts_api.py and tests/web/test_account_pages.py cover invitations.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("open_signup")]


def _ip() -> str:
    """A fresh client address, so rate-limit windows of other tests never count here."""
    value = uuid.uuid4().int
    return f"10.{value % 250}.{(value >> 8) % 250}.{(value >> 16) % 250 + 1}"


def _logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _labels(html: str) -> set[str]:
    return {label.strip() for label in re.findall(r"<label[^>]*>([^<]+)</label>", html)}


def test_login_page_has_the_labelled_fields_and_a_skip_link(client: Client) -> None:
    response = client.get("/accounts/login/")
    html = response.content.decode()
    assert response.status_code == 200
    assert {"Username", "Password"} <= _labels(html)
    assert 'href="#main"' in html
    assert '<main id="main"' in html


def test_login_with_the_right_password_goes_to_the_channel_list(client: Client, alice: Any) -> None:
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR=_ip()
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_login_with_a_wrong_password_shows_the_form_again(client: Client, alice: Any) -> None:
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "nope"}, REMOTE_ADDR=_ip()
    )
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_login_attempts_past_chat_auth_rate_are_429_with_retry_after(
    client: Client, alice: Any, settings: Any
) -> None:
    settings.CHAT_AUTH_RATE = "2/min"
    address = _ip()
    for _ in range(2):
        response = client.post(
            "/accounts/login/", {"username": "alice", "password": "nope"}, REMOTE_ADDR=address
        )
        assert response.status_code == 200
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR=address
    )
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many attempts" in response.content.decode()
    # Another address is not affected.
    other = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR=_ip()
    )
    assert other.status_code == 302


def test_signup_page_has_username_email_and_password(client: Client) -> None:
    html = client.get("/accounts/signup/").content.decode()
    assert {"Username", "Email", "Password"} <= _labels(html)


def test_signup_creates_the_user_and_logs_them_in(client: Client) -> None:
    response = client.post(
        "/accounts/signup/",
        {"username": "dora", "email": "dora@example.com", "password": "a-long-pass-phrase"},
        REMOTE_ADDR=_ip(),
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(username="dora")
    assert user.check_password("a-long-pass-phrase")
    assert user.role == User.Role.MEMBER
    assert client.get("/").context["user"] == user


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {"username": "erin", "email": "ALICE@example.com", "password": "a-long-pass-phrase"},
            "email",
        ),
        (
            {"username": "alice", "email": "new@example.com", "password": "a-long-pass-phrase"},
            "username",
        ),
        ({"username": "erin", "email": "erin@example.com", "password": "123"}, "password1"),
        ({"username": "erin", "email": "", "password": "a-long-pass-phrase"}, "email"),
        (
            {
                "username": "bad name!",
                "email": "erin@example.com",
                "password": "a-long-pass-phrase",
            },
            "username",
        ),
    ],
)
def test_signup_refuses_bad_input_with_the_field_named(
    client: Client, alice: Any, data: dict[str, str], field: str
) -> None:
    response = client.post("/accounts/signup/", data, REMOTE_ADDR=_ip())
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert 'aria-invalid="true"' in response.content.decode()
    assert not User.objects.filter(username="erin").exists()


def test_signup_is_rate_limited_per_address(client: Client, settings: Any) -> None:
    settings.CHAT_AUTH_RATE = "1/min"
    address = _ip()
    data = {"username": "x", "email": "", "password": ""}
    assert client.post("/accounts/signup/", data, REMOTE_ADDR=address).status_code == 400
    response = client.post("/accounts/signup/", data, REMOTE_ADDR=address)
    assert response.status_code == 429
    assert response.has_header("Retry-After")


def test_signed_in_user_is_sent_from_signup_to_the_list(alice: Any) -> None:
    response = _logged_in(alice).get("/accounts/signup/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_logout_is_a_post_that_ends_the_session(alice: Any) -> None:
    client = _logged_in(alice)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_pages_need_a_login(client: Client, channel: Any) -> None:
    for path in ("/", "/channels/general/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_channel_list_shows_unread_badges_and_join_buttons(
    alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    other = ChannelFactory.create(name="random")
    for text in ("one", "two", "three"):
        post(alice, channel, text)
    response = _logged_in(bob).get("/")
    html = response.content.decode()
    assert response.status_code == 200
    general = re.search(r'href="/channels/general/".*?</a>', html, re.S)
    assert general is not None
    assert '<span class="visually-hidden"> unread</span>' in general.group(0)
    assert ">3<" in general.group(0)
    assert f'action="/channels/{other.name}/join/"' in html
    assert 'action="/channels/general/join/"' not in html


def test_channel_list_hides_private_channels_of_others(bob: Any, private_channel: Any) -> None:
    html = _logged_in(bob).get("/").content.decode()
    assert "secret" not in html


def test_create_channel_makes_the_creator_its_owner(alice: Any) -> None:
    response = _logged_in(alice).post(
        "/channels/new/", {"name": "design", "title": "Design", "topic": "Pixels"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/channels/design/"
    membership = Membership.objects.get(channel__name="design", user=alice)
    assert membership.role == Membership.Role.OWNER


@pytest.mark.parametrize("name", ["Bad Name", "general", ""])
def test_create_channel_with_a_bad_or_taken_name_is_400(
    alice: Any, channel: Any, name: str
) -> None:
    response = _logged_in(alice).post("/channels/new/", {"name": name})
    assert response.status_code == 400
    assert response.context["form"].errors["name"]


def test_join_a_public_channel(bob: Any, channel: Any) -> None:
    response = _logged_in(bob).post("/channels/general/join/")
    assert response.status_code == 302
    assert response["Location"] == "/channels/general/"
    assert Membership.objects.filter(channel=channel, user=bob).exists()


def test_join_an_archived_channel_is_refused_with_a_message(bob: Any, channel: Any) -> None:
    channel.archived_at = channel.created_at
    channel.save(update_fields=["archived_at"])
    client = _logged_in(bob)
    response = client.post("/channels/general/join/", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert "archived" in response.content.decode()


def test_private_channel_of_others_is_404_everywhere(bob: Any, private_channel: Any) -> None:
    client = _logged_in(bob)
    response = client.get("/channels/secret/")
    assert response.status_code == 404
    assert "not shared with you" in response.content.decode()
    assert client.post("/channels/secret/", {"content": "hi"}).status_code == 404
    assert client.post("/channels/secret/join/").status_code == 404


def test_room_renders_the_last_50_messages_oldest_first(
    alice: Any, channel: Any, post: Any
) -> None:
    messages = [post(alice, channel, f"message {number}") for number in range(55)]
    response = _logged_in(alice).get("/channels/general/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="log"' in html
    assert 'aria-live="polite"' in html
    shown = re.findall(r'<article class="message[^"]*" id="m-([0-9a-f-]+)"', html)
    assert shown == [str(message.pk) for message in messages[5:]]
    assert f'href="?before={messages[5].pk}"' in html
    assert f'data-last-seq="{channel.last_seq if False else messages[-1].seq}"' in html
    assert '<label for="composer-input" class="visually-hidden">Message</label>' in html
    assert ">Send</button>" in html
    assert 'role="status"' in html


def test_room_older_page_by_cursor(alice: Any, channel: Any, post: Any) -> None:
    messages = [post(alice, channel, f"message {number}") for number in range(55)]
    html = _logged_in(alice).get(f"/channels/general/?before={messages[5].pk}").content.decode()
    shown = re.findall(r'id="m-([0-9a-f-]+)"', html)
    assert shown == [str(message.pk) for message in messages[:5]]
    assert "Back to latest" in html


def test_room_with_a_bad_cursor_is_404(alice: Any, channel: Any) -> None:
    assert _logged_in(alice).get("/channels/general/?before=nope").status_code == 404


def test_room_shows_edit_and_delete_only_on_own_messages(
    alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    own = post(alice, channel, "mine")
    theirs = post(bob, channel, "theirs")
    html = _logged_in(alice).get("/channels/general/").content.decode()
    own_html = html.split(f'id="m-{own.pk}"')[1].split("</article>")[0]
    their_html = html.split(f'id="m-{theirs.pk}"')[1].split("</article>")[0]
    assert 'data-action="edit"' in own_html
    assert 'data-action="delete"' in own_html
    assert 'data-action="edit"' not in their_html
    assert 'data-action="delete"' not in their_html
    # Everyone may react and reply.
    assert 'data-action="react"' in their_html and 'data-action="reply"' in their_html


def test_room_marks_the_channel_read_and_shows_where_news_start(
    alice: Any, bob: Any, channel: Any, post: Any
) -> None:
    MembershipFactory.create(channel=channel, user=bob)
    seen = post(alice, channel, "seen")
    services.channel_mark_read(user=bob, channel_id=channel.pk, seq=seen.seq)
    news = post(alice, channel, "news")
    html = _logged_in(bob).get("/channels/general/").content.decode()
    assert html.index('id="unread-divider"') < html.index(f'id="m-{news.pk}"')
    assert html.index(f'id="m-{seen.pk}"') < html.index('id="unread-divider"')
    assert Membership.objects.get(channel=channel, user=bob).last_read_seq == news.seq


def test_room_without_scripts_posts_and_redirects_to_the_message(alice: Any, channel: Any) -> None:
    client_id = uuid.uuid4()
    client = _logged_in(alice)
    for _ in range(2):
        response = client.post(
            "/channels/general/", {"content": "line one\nline two", "client_id": client_id}
        )
        assert response.status_code == 302
    message = Message.objects.get(channel=channel)
    assert message.content == "line one\nline two"
    assert response["Location"] == f"/channels/general/#m-{message.pk}"


def test_room_without_scripts_turns_crlf_line_breaks_into_newlines(
    alice: Any, channel: Any
) -> None:
    response = _logged_in(alice).post("/channels/general/", {"content": "one\r\ntwo\rthree"})
    assert response.status_code == 302
    assert Message.objects.get(channel=channel).content == "one\ntwo\nthree"


def test_signup_refuses_a_username_taken_in_another_case(client: Client, alice: Any) -> None:
    data = {"username": "ALICE", "email": "other@example.com", "password": "a-long-pass-phrase"}
    response = client.post("/accounts/signup/", data, REMOTE_ADDR=_ip())
    assert response.status_code == 400
    assert response.context["form"].errors["username"]
    assert User.objects.filter(username__iexact="alice").count() == 1


@pytest.mark.parametrize("content", ["", "   ", "x" * 4001, "bad\x00byte"])
def test_room_without_scripts_refuses_bad_content_with_400(
    alice: Any, channel: Any, content: str
) -> None:
    response = _logged_in(alice).post("/channels/general/", {"content": content})
    assert response.status_code == 400
    assert response.context["form"].errors["content"]
    assert not Message.objects.exists()


def test_room_of_an_archived_channel_is_read_only(alice: Any, channel: Any) -> None:
    channel.archived_at = channel.created_at
    channel.save(update_fields=["archived_at"])
    client = _logged_in(alice)
    html = client.get("/channels/general/").content.decode()
    assert "archived and read-only" in html
    assert 'class="composer"' not in html
    response = client.post("/channels/general/", {"content": "hello"})
    assert response.status_code == 400
    assert "archived" in response.content.decode()


def test_static_files_are_served_by_servestatic(client: Client, settings: Any) -> None:
    assert "servestatic.middleware.ServeStaticMiddleware" in settings.MIDDLEWARE
    html = client.get("/accounts/login/").content.decode()
    assert "/static/css/chatsite.css" in html


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/accounts/signup/", "/", "/channels/general/"]
)
def test_every_page_has_a_description_for_search_engines_and_link_previews(
    alice: Any, channel: Any, path: str
) -> None:
    client = Client() if path.startswith("/accounts/") else _logged_in(alice)
    response = client.get(path)
    assert response.status_code == 200, path
    body = response.content.decode()
    assert re.search(r'<meta name="description" content="[^"]{20,}">', body), path


def test_room_without_scripts_runs_slash_commands(alice: Any, bob: Any, channel: Any) -> None:
    client = _logged_in(alice)
    response = client.post("/channels/general/", {"content": "/topic Typed without scripts"})
    assert response.status_code == 302
    assert response["Location"] == "/channels/general/"
    channel.refresh_from_db()
    assert channel.topic == "Typed without scripts"
    response = client.post("/channels/general/", {"content": "/me waves"})
    message = Message.objects.get()
    assert message.action and response["Location"].endswith(f"#m-{message.pk}")
    assert "message-action" in client.get("/channels/general/").content.decode()
    MembershipFactory.create(channel=channel, user=bob)
    response = _logged_in(bob).post("/channels/general/", {"content": "/leave"})
    assert response["Location"] == "/"
    assert not Membership.objects.filter(channel=channel, user=bob).exists()


@pytest.mark.parametrize("content", ["/dance", "/invite @nobody", "/me"])
def test_room_without_scripts_shows_a_refused_command_under_the_composer(
    alice: Any, channel: Any, content: str
) -> None:
    response = _logged_in(alice).post("/channels/general/", {"content": content})
    assert response.status_code == 400
    assert response.context["form"].errors["content"]
    assert not Message.objects.exists()


def test_room_without_scripts_sends_two_slashes_as_one(alice: Any, channel: Any) -> None:
    response = _logged_in(alice).post("/channels/general/", {"content": "//etc/hosts"})
    assert response.status_code == 302
    assert Message.objects.get().content == "/etc/hosts"
