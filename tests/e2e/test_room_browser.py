"""The room in a real headless Chromium: live delivery, edits, deletes, catch-up, limits.

Two people are two browser contexts (separate cookie jars) on the live Daphne.
"""

from __future__ import annotations

import contextvars
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django import db
from django.conf import settings
from django.db import connection
from django.test import override_settings
from playwright.sync_api import Page, Route, expect

from chat import services
from chat.models import Membership, Message
from tests import live
from tests.conftest import _TEST_PREFIX
from tests.e2e.conftest import Site

RECONNECT_TIMEOUT_MS = 25_000


def log_texts(page: Page) -> list[str]:
    """The bodies of the confirmed messages in the page's log, top to bottom."""
    return page.locator(
        "#message-log article.message:not(.message-pending) .message-body"
    ).all_inner_texts()


def read_marker(user: Any, channel: Any) -> int:
    return int(
        Membership.objects.filter(user=user, channel=channel).values_list(
            "last_read_seq", flat=True
        )[0]
    )


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def message(page: Page, text: str) -> Any:
    return page.get_by_role("log").locator("article.message", has_text=text)


def post(user: Any, channel: Any, *contents: str) -> Any:
    """Post through the service, as the REST view would, and let the events go out.

    Playwright keeps an event loop in the test's thread, where the on-commit broadcast
    (async_to_sync) cannot run; a worker thread with the test's context (RLS role) can.
    Returns the last message posted.
    """

    def _create() -> Any:
        try:
            for content in contents:
                created, _ = services.message_create(
                    user=user, channel_id=channel.pk, content=content
                )
            return created
        finally:
            db.connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(contextvars.copy_context().run, _create).result()


def test_enter_sends_and_the_other_sees_it_live_with_typing_and_presence(
    site: Site, people: dict[str, Any]
) -> None:
    alice = site.room(people["alice"])
    bob = site.room(people["bob"])
    bob_id = people["bob"].pk
    # alice was connected first: she is told that bob came online.
    expect(alice.locator(f'.member[data-user-id="{bob_id}"]')).to_have_attribute(
        "data-presence", "online"
    )

    composer = alice.get_by_role("textbox", name="Message")
    composer.press_sequentially("Hello Bob")
    expect(bob.locator("#typing-indicator")).to_have_text("Alice is typing…")
    composer.press_sequentially(", this is live")
    composer.press("Enter")

    expect(message(bob, "Hello Bob, this is live")).to_have_count(1)
    expect(alice.locator("article.message-own:not(.message-pending)")).to_have_count(1)
    expect(composer).to_have_value("")
    expect(composer).to_be_focused()
    # The typing line empties but keeps its place: nothing under it moves.
    expect(bob.locator("#typing-indicator")).to_have_text("")
    assert log_texts(bob) == ["Hello Bob, this is live"]
    # bob has the room on screen: his read marker moves up to the new message.
    seq = int(bob.locator("article.message").first.get_attribute("data-seq") or 0)
    wait_until(lambda: read_marker(people["bob"], people["general"]) == seq)


def test_channel_list_badge_counts_new_messages_live(site: Site, people: dict[str, Any]) -> None:
    page = site.channel_list(people["bob"])
    link = page.get_by_role("link", name="#general")
    expect(link).to_have_accessible_name("#general")
    post(people["alice"], people["general"], "one", "two")
    expect(link).to_have_accessible_name("#general 2 unread")
    post(people["bob"], people["general"], "his own does not count")
    post(people["alice"], people["general"], "three")
    expect(link).to_have_accessible_name("#general 3 unread")


def test_channel_list_counts_what_was_posted_before_its_socket_connected(
    site: Site, people: dict[str, Any]
) -> None:
    context = site.context(people["bob"])
    page = context.new_page()
    # Route handlers run in Playwright's own context: post with the test's (its RLS role).
    test_context = contextvars.copy_context()

    def post_then_serve_script(route: Route) -> None:
        # The page is rendered (badge 0) but its script has not connected yet.
        test_context.run(post, people["alice"], people["general"], "while the page loads")
        route.continue_()

    page.route("**/js/channels-page.js", post_then_serve_script)
    page.goto("/")
    link = page.get_by_role("link", name="#general")
    # The welcome shows #general moved past the rendered seq: the counts are fetched again.
    expect(link).to_have_accessible_name("#general 1 unread")


def test_edit_and_delete_show_up_live_for_the_other(site: Site, people: dict[str, Any]) -> None:
    post(people["alice"], people["general"], "first draft")
    post(people["bob"], people["general"], "a reply")
    alice = site.room(people["alice"])
    bob = site.room(people["bob"])

    mine = message(alice, "first draft")
    mine.get_by_role("button", name="Edit your message").click()
    editor = alice.get_by_role("textbox", name="Edit message")
    expect(editor).to_be_focused()
    editor.fill("final wording")
    editor.press("Enter")
    edited = message(bob, "final wording")
    expect(edited).to_have_count(1)
    expect(edited.locator(".message-edited")).to_be_visible()
    expect(message(bob, "first draft")).to_have_count(0)
    # Focus goes back to the Edit button the editor came from.
    expect(
        message(alice, "final wording").get_by_role("button", name="Edit your message")
    ).to_be_focused()

    # Delete asks in the page's own dialog (never the browser's confirm()); the message
    # stays in everyone's log as a tombstone.
    message(alice, "final wording").get_by_role("button", name="Delete your message").click()
    dialog = alice.get_by_role("dialog", name="Delete your message?")
    dialog.get_by_role("button", name="Delete").click()
    expect(message(bob, "final wording")).to_have_count(0)
    expect(message(alice, "final wording")).to_have_count(0)
    expect(bob.locator("article.message-deleted")).to_have_count(1)
    assert log_texts(bob) == ["message deleted", "a reply"]
    # Only one's own messages carry Edit and Delete (everyone may react and reply).
    own_tools = ".message-actions button"
    expect(message(bob, "a reply").locator(own_tools)).to_have_count(2)
    expect(message(alice, "a reply").locator(own_tools)).to_have_count(0)
    expect(message(alice, "a reply").get_by_role("button", name="Reply in thread")).to_be_visible()


class RestartableServer:
    """A Daphne of this test's own on a fixed port, so it can die and come back."""

    def __init__(self, env: dict[str, str], log_dir: Any) -> None:
        self.port = live.free_port()
        self.env = env
        self.log_dir = log_dir
        self.server: live.LiveServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log_path = self.log_dir / f"daphne-{self.port}-{len(list(self.log_dir.iterdir()))}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            live.daphne_command(self.port),
            cwd=live.ROOT,
            env=self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        self.server = live.LiveServer(self.port, process, log_path, log_file)
        live.wait_healthy(self.server)

    def kill(self) -> None:
        """Die like a crashed process: no close frames, the sockets just drop."""
        if self.server is not None:
            self.server.process.send_signal(signal.SIGKILL)
            self.server.process.wait(timeout=10)
            self.server.log_file.close()
            self.server = None


@pytest.fixture
def spare_server(daphne_servers: Any, tmp_path: Any) -> Iterator[RestartableServer]:
    env = live.server_environment(
        database_url=live.database_url_for(connection.settings_dict),
        redis_url=settings.REDIS_URL,
        prefix=_TEST_PREFIX,
    )
    server = RestartableServer(env, tmp_path)
    server.start()
    yield server
    server.kill()


def test_reconnect_after_a_server_crash_shows_missed_messages_in_order_once(
    site: Site, people: dict[str, Any], spare_server: RestartableServer
) -> None:
    post(people["alice"], people["general"], "before the crash")
    alice = site.room(people["alice"])
    # bob is on a second Daphne process, the one that is going to crash.
    bob_page = site.page(people["bob"], "/channels/general/", base_url=spare_server.url)
    status = bob_page.get_by_role("status")
    expect(status).to_have_text("Connected")
    expect(message(bob_page, "before the crash")).to_have_count(1)

    spare_server.kill()
    expect(status).to_contain_text("Reconnecting")
    # bob writes meanwhile: neither the socket nor REST answers, so it waits in the log.
    bob_composer = bob_page.get_by_role("textbox", name="Message")
    bob_composer.fill("written while offline")
    bob_composer.press("Enter")
    unsent = bob_page.locator("article.message-pending", has_text="written while offline")
    expect(unsent).to_contain_text("Not sent yet")

    csrf = next(c["value"] for c in alice.context.cookies() if c["name"] == "csrftoken")
    for number in (1, 2, 3):
        response = alice.context.request.post(
            "/api/chat/messages",
            data={"channel_id": str(people["general"].pk), "content": f"missed {number}"},
            headers={"X-CSRFToken": csrf},
        )
        assert response.status == 201, response.text()

    spare_server.start()
    expect(status).to_have_text("Connected", timeout=RECONNECT_TIMEOUT_MS)
    expect(message(bob_page, "missed 3")).to_have_count(1)
    # The unsent message went out again by itself after the reconnect, once.
    expect(unsent).to_have_count(0)
    expect(message(alice, "written while offline")).to_have_count(1)
    assert log_texts(bob_page) == [
        "before the crash",
        "missed 1",
        "missed 2",
        "missed 3",
        "written while offline",
    ]

    # And live delivery works again on the new connection.
    composer = alice.get_by_role("textbox", name="Message")
    composer.fill("after the restart")
    composer.press("Enter")
    expect(message(bob_page, "after the restart")).to_have_count(1)
    assert log_texts(bob_page)[-2:] == ["written while offline", "after the restart"]
    assert log_texts(alice) == log_texts(bob_page)


def test_a_dropped_event_is_fetched_again_by_seq(site: Site, people: dict[str, Any]) -> None:
    bob = site.room(people["bob"])
    # Sent to a layer nobody listens to: the live event is lost, as channels-redis may lose one.
    with override_settings(
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    ):
        post(people["alice"], people["general"], "lost on the way")
    expect(message(bob, "lost on the way")).to_have_count(0)
    post(people["alice"], people["general"], "arrives live")
    # The live one shows a gap in seq; the page re-subscribes with since_seq and fills it.
    expect(message(bob, "lost on the way")).to_have_count(1)
    expect(message(bob, "arrives live")).to_have_count(1)
    assert log_texts(bob) == ["lost on the way", "arrives live"]


def test_counter_counts_code_points_and_the_limit_holds(site: Site, people: dict[str, Any]) -> None:
    page = site.room(people["alice"])
    composer = page.get_by_role("textbox", name="Message")
    counter = page.locator("#composer-counter")

    composer.fill("😀😀😀")
    expect(counter).to_have_text("3/4000")

    composer.fill("a" * 4001)
    expect(counter).to_have_text("4001/4000")
    expect(counter).to_have_attribute("data-over", "true")
    composer.press("Enter")
    expect(page.get_by_role("alert").filter(has_text="the limit is 4000")).to_be_visible()
    expect(page.locator("article.message")).to_have_count(0)

    # 4000 code points is 4001 UTF-16 units: still allowed, as on the server.
    composer.fill("a" * 3999 + "😀")
    expect(counter).to_have_text("4000/4000")
    composer.press("Enter")
    expect(page.locator("article.message:not(.message-pending)")).to_have_count(1)
    expect(composer).not_to_have_attribute("aria-invalid", "true")


def test_load_older_fetches_the_previous_page_by_cursor(site: Site, people: dict[str, Any]) -> None:
    post(people["bob"], people["general"], *(f"message {number:02d}" for number in range(60)))
    page = site.room(people["alice"])
    expect(page.locator("#message-log article.message")).to_have_count(50)
    assert log_texts(page)[0] == "message 10"
    page.get_by_role("link", name="Load older messages").click()
    expect(page.locator("#message-log article.message")).to_have_count(60)
    assert log_texts(page) == [f"message {number:02d}" for number in range(60)]
    expect(page.get_by_role("link", name="Load older messages")).to_have_count(0)


def test_sending_works_without_crypto_random_uuid(site: Site, people: dict[str, Any]) -> None:
    """Plain HTTP on a host other than localhost is no secure context: no randomUUID there."""
    context = site.context(people["alice"])
    context.add_init_script("delete Crypto.prototype.randomUUID")
    page = context.new_page()
    page.goto("/channels/general/")
    expect(page.get_by_role("status")).to_have_text("Connected")
    assert page.evaluate("typeof crypto.randomUUID") == "undefined"
    composer = page.get_by_role("textbox", name="Message")
    composer.fill("no randomUUID here")
    composer.press("Enter")
    expect(page.locator("article.message:not(.message-pending)")).to_have_count(1)
    client_id = Message.objects.get(content="no randomUUID here").client_id
    assert client_id is not None
    assert client_id.version == 4


def test_without_a_websocket_the_composer_falls_back_to_rest(
    site: Site, people: dict[str, Any]
) -> None:
    bob = site.room(people["bob"])
    context = site.context(people["alice"])
    # Every WebSocket alice's browser opens is closed at once, as a hostile proxy would.
    context.route_web_socket(
        re.compile(r"/ws/chat/(\?.*)?$"), lambda ws: ws.close(code=1011, reason="no")
    )
    alice = context.new_page()
    alice.goto("/channels/general/")
    expect(alice.get_by_role("status")).to_contain_text("Reconnecting")
    composer = alice.get_by_role("textbox", name="Message")
    composer.fill("sent through REST")
    composer.press("Enter")
    expect(alice.locator("article.message:not(.message-pending)")).to_have_count(1)
    expect(message(bob, "sent through REST")).to_have_count(1)
    assert Message.objects.filter(content="sent through REST").count() == 1


def test_a_long_catch_up_pages_through_capped_replays(site: Site, people: dict[str, Any]) -> None:
    bob = site.room(people["bob"])
    # 1,100 changes that no live event announced (a bulk import), then one that is announced:
    # the page sees the gap and catches up in pages of CHAT_REPLAY_LIMIT (500).
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO chat_message (id, channel_id, user_id, content, rendered, created_at,"
            " seq, change_seq) SELECT gen_random_uuid(), %s, %s, 'bulk ' || g,"
            " '<p>bulk ' || g || '</p>', now(), g, g"
            " FROM generate_series(1, 1100) g",
            [people["general"].pk, people["alice"].pk],
        )
        cursor.execute(
            "UPDATE chat_channel SET last_seq = 1100 WHERE id = %s", [people["general"].pk]
        )
    post(people["alice"], people["general"], "announced")
    expect(message(bob, "announced")).to_have_count(1)
    expect(message(bob, "bulk 1100")).to_have_count(1, timeout=20_000)
    texts = log_texts(bob)
    assert texts == [f"bulk {n}" for n in range(1, 1101)] + ["announced"]
    expect(bob.get_by_role("log")).to_have_attribute("aria-busy", "false")


@pytest.fixture
def quick_heartbeat_server(daphne_servers: Any, tmp_path: Any) -> Iterator[RestartableServer]:
    """A Daphne whose pages ping every 5 s (the client's shortest heartbeat)."""
    env = live.server_environment(
        database_url=live.database_url_for(connection.settings_dict),
        redis_url=settings.REDIS_URL,
        prefix=_TEST_PREFIX,
        extra={"CHAT_HEARTBEAT_SECONDS": "5"},
    )
    server = RestartableServer(env, tmp_path)
    server.start()
    yield server
    server.kill()


def test_a_lost_last_event_is_found_by_the_heartbeat_ping(
    site: Site, people: dict[str, Any], quick_heartbeat_server: RestartableServer
) -> None:
    bob = site.page(people["bob"], "/channels/general/", base_url=quick_heartbeat_server.url)
    expect(bob.get_by_role("status")).to_have_text("Connected")
    expect(bob.get_by_role("log")).to_have_attribute("aria-busy", "false")
    with override_settings(
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    ):
        post(people["alice"], people["general"], "the last word, lost on the way")
    # Nothing follows it, so no gap shows: the next ping's pong names the newer seq.
    expect(message(bob, "the last word, lost on the way")).to_have_count(1, timeout=15_000)
