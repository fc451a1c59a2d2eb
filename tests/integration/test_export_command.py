"""manage.py export (exports/): the files it writes, paging (memory stays flat), bad input,
and resuming an export killed mid-way as a real process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import services
from files import services as files_services
from tests.factories import MembershipFactory
from tests.worker_support import ROOT, worker_environment

pytestmark = pytest.mark.django_db(transaction=True)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def history(alice: Any, bob: Any, channel: Any, private_channel: Any) -> dict[str, Any]:
    MembershipFactory.create(channel=channel, user=bob)
    upload = files_services.upload_create(
        user=alice, file=SimpleUploadedFile("notes.txt", b"the notes")
    )
    first, _ = services.message_create(
        user=alice, channel_id=channel.pk, content="hello **all**", attachment_ids=[upload.pk]
    )
    services.reaction_add(user=bob, message_id=first.pk, emoji="👍")
    reply, _ = services.message_create(
        user=bob, channel_id=channel.pk, content="a reply", parent_id=first.pk
    )
    gone, _ = services.message_create(user=bob, channel_id=channel.pk, content="oops")
    services.message_delete(user=bob, message_id=gone.pk)
    services.message_create(user=alice, channel_id=private_channel.pk, content="secret")
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    services.message_create(user=alice, channel_id=dm.pk, content="psst")
    return {"first": first, "reply": reply, "upload": upload, "dm": dm}


def test_export_writes_channels_users_messages_and_files(
    tmp_path: Path, history: dict[str, Any], channel: Any
) -> None:
    out = tmp_path / "export"
    call_command("export", "--out", str(out))
    names = {line["name"] for line in lines(out / "channels.jsonl")}
    assert names == {"general", "secret"}  # no direct messages without --include-dms
    assert {line["username"] for line in lines(out / "users.jsonl")} >= {"alice", "bob"}
    general = lines(out / "channels" / "general.jsonl")
    assert [m["seq"] for m in general] == sorted(m["seq"] for m in general)
    first = general[0]
    assert first["author"]["username"] == "alice"
    assert first["content"] == "hello **all**"
    assert "<strong>all</strong>" in first["rendered"]
    assert first["reactions"][0]["emoji"] == "👍"
    upload = history["upload"]
    assert first["attachments"] == [
        {
            "id": str(upload.pk),
            "name": "notes.txt",
            "size": 9,
            "content_type": "text/plain",
            "path": f"files/{upload.pk}/notes.txt",
        }
    ]
    assert (out / first["attachments"][0]["path"]).read_bytes() == b"the notes"
    reply = next(m for m in general if m["id"] == str(history["reply"].pk))
    assert reply["thread_root"] == str(history["first"].pk)
    assert any(m["deleted_at"] and m["content"] == "" for m in general)
    assert lines(out / "channels" / "secret.jsonl")[0]["content"] == "secret"


def test_direct_messages_only_with_the_flag(tmp_path: Path, history: dict[str, Any]) -> None:
    out = tmp_path / "with-dms"
    call_command("export", "--out", str(out), "--include-dms")
    dm = history["dm"]
    assert lines(out / "channels" / f"{dm.name}.jsonl")[0]["content"] == "psst"
    with pytest.raises(CommandError, match="No such channel"):
        call_command("export", "--out", str(tmp_path / "x"), "--channel", str(dm.pk))


def test_channel_and_since_narrow_the_export(tmp_path: Path, history: dict[str, Any]) -> None:
    out = tmp_path / "one"
    call_command("export", "--out", str(out), "--channel", "secret")
    assert [line["name"] for line in lines(out / "channels.jsonl")] == ["secret"]
    later = tmp_path / "later"
    call_command("export", "--out", str(later), "--since", "2999-01-01")
    assert (later / "channels" / "general.jsonl").read_text() == ""


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["--channel", "nope"], "No such channel: nope"),
        (["--since", "yesterday"], "not a date"),
        (["--page-size", "0"], "at least 1"),
    ],
)
def test_bad_input_is_a_clear_command_error(
    tmp_path: Path, history: dict[str, Any], arguments: list[str], problem: str
) -> None:
    with pytest.raises(CommandError, match=problem):
        call_command("export", "--out", str(tmp_path / "bad"), *arguments)


def test_a_directory_of_something_else_is_refused(tmp_path: Path, history: Any) -> None:
    (tmp_path / "stuff.txt").write_text("mine")
    with pytest.raises(CommandError, match="not empty"):
        call_command("export", "--out", str(tmp_path))
    out = tmp_path / "e"
    call_command("export", "--out", str(out), "--channel", "general")
    with pytest.raises(CommandError, match="other options"):
        call_command("export", "--out", str(out), "--channel", "secret")


def test_messages_are_read_a_page_at_a_time(tmp_path: Path, alice: Any, channel: Any) -> None:
    for n in range(10):
        services.message_create(user=alice, channel_id=channel.pk, content=f"m{n}")
    with CaptureQueriesContext(connection) as queries:
        call_command("export", "--out", str(tmp_path / "paged"), "--page-size", "3")
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "chat_message"' in q["sql"]
    ]
    # Ten messages, three a page: four bounded reads, each resuming after the last seq.
    assert len(reads) == 4
    assert all(sql.endswith("LIMIT 3") for sql in reads)
    assert len(lines(tmp_path / "paged" / "channels" / "general.jsonl")) == 10


def _export_process(out: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "export", "--out", str(out), "--page-size", "2", *extra],
        cwd=ROOT,
        env=worker_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.live
def test_an_export_killed_mid_way_resumes_to_the_same_result(
    tmp_path: Path, history: dict[str, Any], alice: Any, channel: Any
) -> None:
    for n in range(30):
        services.message_create(user=alice, channel_id=channel.pk, content=f"line {n}")
    whole = tmp_path / "whole"
    done = _export_process(whole)
    assert done.wait(timeout=120) == 0, done.stderr.read() if done.stderr else ""

    cut = tmp_path / "cut"
    process = _export_process(cut, "--pause-per-page", "0.2")
    manifest = cut / "manifest.json"
    deadline = time.monotonic() + 60
    while True:
        if manifest.exists():
            progress = json.loads(manifest.read_text())["progress"]
            if any(p["last_seq"] >= 10 and not p["done"] for p in progress.values()):
                break
        assert time.monotonic() < deadline, "the export never got going"
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    general = cut / "channels" / "general.jsonl"
    # As if the kill had come in the middle of a line.
    with general.open("ab") as half:
        half.write(b'{"id": "half a li')
    assert tree(cut) != tree(whole)

    again = _export_process(cut)
    assert again.wait(timeout=120) == 0
    stderr = again.stderr.read().decode() if again.stderr else ""
    stdout = again.stdout.read().decode() if again.stdout else ""
    assert "resuming #general after seq" in stderr
    assert "resumed: general" in stdout
    assert tree(cut) == tree(whole)
