"""The web client's unit tests (tests/js, Node's built-in runner) as part of the suite.

The rendering tests get a real room page and the API's JSON for its messages, so they check
that static/js/render.js and the server's message partial produce the same markup.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat import services
from files import services as files_services
from integrations import services as integrations_services
from tests.factories import MembershipFactory
from tests.files_support import image_bytes

ROOT = Path(__file__).resolve().parents[2]
JS_TESTS = ROOT / "tests" / "js"

pytestmark = pytest.mark.django_db


def test_js_unit_tests_pass(tmp_path: Path, alice: Any, bob: Any, channel: Any, post: Any) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: tests/js needs Node 20 or later (`make browser` installs it)")
    if not (JS_TESTS / "node_modules" / "linkedom").is_dir():
        pytest.fail("tests/js/node_modules is missing: run `make jsdeps` (npm ci in tests/js)")
    MembershipFactory.create(channel=channel, user=bob)
    mine = post(alice, channel, 'mine, with <b>markup</b> & "quotes" and **Markdown** `code`')
    edited = post(bob, channel, "theirs\non two lines")
    services.message_edit(user=bob, message_id=edited.pk, content="theirs, edited :tada:")
    # Reactions (one of them alice's own) and a thread on alice's message.
    services.reaction_add(user=bob, message_id=mine.pk, emoji="👍")
    services.reaction_add(user=alice, message_id=mine.pk, emoji="👍")
    services.reaction_add(user=bob, message_id=mine.pk, emoji="🎉")
    services.message_create(
        user=bob, channel_id=channel.pk, content="a reply @alice", parent_id=mine.pk
    )
    # Files: an image with its preview and a file chip, on a message without text.
    image = files_services.upload_create(
        user=alice, file=SimpleUploadedFile("shot.png", image_bytes("PNG", size=(800, 300)))
    )
    log = files_services.upload_create(user=alice, file=SimpleUploadedFile("b.log", b"x" * 1500))
    services.message_create(
        user=alice, channel_id=channel.pk, content="", attachment_ids=[image.pk, log.pk]
    )
    # A hook's bot, posting under the name and emoji its caller chose: the Bot badge shows.
    hook, _ = integrations_services.hook_create(actor=alice, channel_id=channel.pk, name="CI")
    integrations_services.hook_post(
        hook=hook, payload={"text": "build green", "username": "Jenkins", "icon_emoji": ":robot:"}
    )
    client = Client()
    client.force_login(alice)
    page = client.get(f"/channels/{channel.name}/")
    messages = client.get(f"/api/chat/messages?channel_id={channel.pk}")
    assert page.status_code == 200 and messages.status_code == 200
    (tmp_path / "room.html").write_text(page.content.decode())
    (tmp_path / "messages.json").write_text(json.dumps(messages.json()))

    result = subprocess.run(
        [node, "--test", "tests/js/"],
        cwd=ROOT,
        env={**os.environ, "CHATSITE_ROOM_FIXTURE": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "# fail 0" in report, report
    # The rendering tests ran against the page (they skip themselves without it).
    assert "# SKIP" not in report, report
    assert "ok 2 - renders every message exactly as the server rendered it" in report, report
