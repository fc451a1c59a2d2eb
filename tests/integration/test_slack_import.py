"""``manage.py import_slack``: generated exports imported, counted against the export, run
twice, broken in every way the docs name (docs/integrations.md, "Moving in from Slack")."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from chat.models import Channel, Membership, Message, Reaction
from chatsite import rls
from files.models import Upload
from integrations.importers import slack
from integrations.importers.mrkdwn import Converter
from integrations.models import ImportedAccount, SlackObject
from notifications.models import Mention
from tests import slack_export as sx
from tests.factories import ChannelFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(path: Path, *args: str) -> str:
    out = io.StringIO()
    call_command("import_slack", str(path), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def snapshot() -> dict[str, int]:
    with rls.acting_as_service():
        return {
            "users": User.objects.count(),
            "channels": Channel.objects.count(),
            "memberships": Membership.objects.count(),
            "messages": Message.objects.count(),
            "reactions": Reaction.objects.count(),
            "uploads": Upload.objects.count(),
            "map": SlackObject.objects.count(),
        }


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return sx.sample(tmp_path / "export.zip")


def test_sample_export_is_imported_and_counted(export: Path) -> None:
    output = run(export)
    with rls.acting_as_service():
        alice = User.objects.get(username="alice")
        bob = User.objects.get(username="bob-smith")
        assert not alice.is_active and not alice.has_usable_password()
        assert ImportedAccount.objects.filter(user=alice, claimed_at=None).exists()
        bot = User.objects.get(username="deploybot-bot")
        assert bot.is_bot and not bot.is_active
        assert User.objects.get(username="deploybot").is_bot  # the bot user of users.json
        general = Channel.objects.get(name="general")
        old = Channel.objects.get(name="old-stuff")
        assert general.topic == "All about general"
        assert general.archived_at is None and old.archived_at is not None
        assert set(general.memberships.values_list("user__username", flat=True)) == {
            "alice", "bob-smith", "carol"}  # fmt: skip
        assert general.memberships.get(user=alice).role == "owner"
        # Nothing unread in the history for imported members.
        assert set(general.memberships.values_list("last_read_seq", flat=True)) == {
            general.last_seq
        }
        messages = list(Message.objects.filter(channel=general).order_by("seq"))
    # Imported: the root, two replies, /me, the bot, the file share, the link-only file.
    assert [m.seq for m in messages] == list(range(1, 8))
    assert general.last_seq == 7
    assert [m.created_at for m in messages] == sorted(m.created_at for m in messages)
    root, reply1, reply2, action, deployed, shared, linked = messages
    assert root.content == "Hello **team** and @bob-smith!"
    assert f'data-user-id="{bob.pk}"' in root.rendered
    assert root.reply_count == 2 and root.last_reply_at == reply2.created_at
    assert reply1.parent_id == root.pk and reply2.parent_id == root.pk
    assert reply1.content == "hi _alice_ see [the site](https://example.com)"
    assert '<a href="https://example.com"' in reply1.rendered
    assert reply2.content == "~~old~~ <tag> & more"
    assert "<s>old</s> &lt;tag&gt; &amp; more" in reply2.rendered
    assert reply2.edited_at is not None and reply2.edited_at > reply2.created_at
    assert action.action and action.content == "waves"
    assert deployed.user == bot and deployed.content == "Deployed v1.2"
    assert [a["name"] for a in shared.attachments] == ["diagram.png"]
    with rls.acting_as_service():
        upload = Upload.objects.get(message=shared)
    assert upload.uploader == alice and upload.content_type == "image/png"
    assert linked.attachments == [] and linked.content == "a link only"
    assert root.reactions == [
        {"emoji": "👍", "count": 2, "user_ids": sorted(root.reactions[0]["user_ids"])}
    ]
    with rls.acting_as_service():
        assert Reaction.objects.filter(message=root).count() == 2
        old_messages = list(Message.objects.filter(channel=old).order_by("seq"))
        # Searchable like any message (the search index's trigger kept up).
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM chat_message_search WHERE channel_id = %s", [general.pk]
            )
            assert cursor.fetchone() == (7,)
        # History calls nobody: no mention rows.
        assert Mention.objects.count() == 0
    assert old_messages[0].content == "see #general, @here"
    assert old_messages[1].content == "```\ncode *not bold*\n```"
    assert "<strong>" not in old_messages[1].rendered
    assert "users: 3 new" in output
    assert "bots: 2 new" in output
    assert "channels: 2 new" in output
    assert "messages: 9 new (replies among them: 2)" in output
    assert "reactions: 2 new" in output
    assert "files: 1 new" in output
    assert "messages, subtype channel_join: 1" in output
    assert "messages, unknown user: 1" in output
    assert "replies, thread root missing: 1" in output
    assert "reactions, unknown emoji: 1" in output
    assert "files, not in the export (a link only): 1" in output


def test_second_run_adds_nothing(export: Path) -> None:
    run(export)
    before = snapshot()
    output = run(export)
    assert snapshot() == before
    assert "messages: 0 new" in output and "9 already imported" in output
    assert "users: 0 new, 0 matched to existing accounts by email, 4 already imported" in output


def test_a_newer_export_adds_only_the_new_messages(tmp_path: Path) -> None:
    users = [sx.user("U01", "alice", "alice@example.com")]
    channels = [sx.channel("C01", "general", ["U01"])]
    first = [sx.message("U01", "one", sx.ts(1), thread_ts=sx.ts(1))]
    run(sx.write_export(tmp_path / "a.zip", users=users, channels=channels,
                        messages={"general": first}))  # fmt: skip
    later = [*first, sx.message("U01", "two", sx.ts(2), thread_ts=sx.ts(1)),
             sx.message("U01", "three", sx.ts(3))]  # fmt: skip
    output = run(sx.write_export(tmp_path / "b.zip", users=users, channels=channels,
                                 messages={"general": later}))  # fmt: skip
    assert "messages: 2 new (replies among them: 1), 1 already imported" in output
    with rls.acting_as_service():
        rows = list(Message.objects.order_by("seq").values_list("content", "seq", "reply_count"))
        assert Channel.objects.get().last_seq == 3
    assert rows == [("one", 1, 1), ("two", 2, 0), ("three", 3, 0)]


def test_a_person_already_here_is_matched_by_email(export: Path) -> None:
    existing = UserFactory.create(username="alice2", email="Alice@Example.com")
    output = run(export)
    assert "users: 2 new, 1 matched to existing accounts by email" in output
    with rls.acting_as_service():
        assert Message.objects.filter(user=existing).count() == 3
        assert not User.objects.filter(username="alice").exists()
        existing.refresh_from_db()
        assert existing.is_active
        assert not ImportedAccount.objects.filter(user=existing).exists()


def test_usernames_follow_the_rules_and_collisions_get_a_number(tmp_path: Path) -> None:
    UserFactory.create(username="alice")
    users = [
        sx.user("U01", "alice", "a1@example.com"),
        sx.user("U02", "Álice", "a2@example.com"),
        sx.user("U03", "..we!rd  name__", "w@example.com"),
        sx.user("U04", "channel", "c@example.com"),
        sx.user("U05", "\u0430lice", "cyr@example.com"),  # a Cyrillic a
    ]
    run(sx.write_export(tmp_path / "e.zip", users=users, channels=[]))
    with rls.acting_as_service():
        names = dict(
            User.objects.filter(email__in=[u["profile"]["email"] for u in users]).values_list(
                "email", "username"
            )
        )
    assert names == {
        "a1@example.com": "alice-2",
        "a2@example.com": "alice-3",
        "w@example.com": "we-rd-name",
        "c@example.com": "channel-2",
        "cyr@example.com": "alice-4",
    }


def test_a_channel_name_taken_here_gets_a_suffix(export: Path) -> None:
    mine = ChannelFactory.create(name="general")
    run(export)
    with rls.acting_as_service():
        imported = Channel.objects.get(name="general-slack")
        assert Message.objects.filter(channel=mine).count() == 0
        assert Message.objects.filter(channel=imported).count() == 7
    # The second run goes on into the imported channel, not into mine.
    run(export)
    with rls.acting_as_service():
        assert Channel.objects.filter(name__startswith="general").count() == 2


def test_dry_run_writes_nothing(export: Path) -> None:
    before = snapshot()
    output = run(export, "--dry-run")
    assert output.startswith("Dry run, nothing written")
    assert "messages: 9 new" in output and "files: 1 new" in output
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"not a zip at all", "not a zip file"),
        (None, "no such file"),
    ],
)
def test_what_is_not_a_zip_aborts(tmp_path: Path, content: bytes | None, problem: str) -> None:
    path = tmp_path / "export.zip"
    if content is not None:
        path.write_bytes(content)
    before = snapshot()
    with pytest.raises(CommandError, match=problem):
        run(path)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"users": None}, "no users.json"),
        ({"channels": None}, "no channels.json"),
        ({"users": None, "raw": {"users.json": b"[{"}}, "users.json: not valid JSON"),
        ({"channels": None, "raw": {"channels.json": b'{"a": 1}'}}, "not a list of objects"),
        ({"users": [{"name": "x"}]}, "an entry without an id"),
    ],
)
def test_a_broken_export_aborts_with_nothing_written(
    tmp_path: Path, kwargs: dict[str, Any], problem: str
) -> None:
    parts: dict[str, Any] = {
        "users": [sx.user("U01", "alice", "alice@example.com")],
        "channels": [sx.channel("C01", "general", ["U01"])],
        "messages": {"general": [sx.message("U01", "hi", sx.ts(1))]},
    }
    parts.update(kwargs)
    path = sx.write_export(tmp_path / "export.zip", **parts)
    before = snapshot()
    with pytest.raises(CommandError, match=problem):
        run(path)
    assert snapshot() == before


def test_per_item_problems_are_skipped_and_listed(tmp_path: Path) -> None:
    users = [sx.user("U01", "alice", "alice@example.com")]
    channels = [sx.channel("C01", "general", ["U01", "U77"]), sx.channel("C02", "random", ["U01"])]
    path = sx.write_export(
        tmp_path / "export.zip",
        users=users,
        channels=channels,
        messages={"general": [sx.message("U01", "fine", sx.ts(1)),
                              sx.message("U01", "x", "not-a-ts"),
                              sx.message("U01", "", sx.ts(3)),
                              sx.message("U01", "file gone", sx.ts(4),
                                         files=[{"id": "F9", "name": "a.txt"}])]},
        raw={"random/2019-03-04.json": b"[{broken", "random/2019-03-05.json": b'{"a": 1}',
             "groups.json": b"[]", "dms.json": b"[]", "mpims.json": b"[]"},
    )  # fmt: skip
    output = run(path)
    with rls.acting_as_service():
        assert list(Message.objects.values_list("content", flat=True).order_by("seq")) == [
            "fine", "file gone"]  # fmt: skip
        assert Channel.objects.filter(name="random").exists()
    assert "memberships, unknown user: 1" in output
    assert "messages, bad ts: 1" in output
    assert "messages, empty: 1" in output
    assert "day files, unreadable: 1" in output
    assert "day files, not a list: 1" in output
    assert "random: random/2019-03-04.json: not valid JSON" in output
    assert "private channels are not imported" in output
    assert "direct messages are not imported" in output
    assert "group direct messages are not imported" in output


def test_a_channel_that_fails_is_rolled_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [sx.user("U01", "alice", "alice@example.com")]
    channels = [sx.channel("C01", "general", ["U01"]), sx.channel("C02", "random", ["U01"])]
    path = sx.write_export(
        tmp_path / "export.zip", users=users, channels=channels,
        messages={"general": [sx.message("U01", "a", sx.ts(1))],
                  "random": [sx.message("U01", "b", sx.ts(2))]},
    )  # fmt: skip
    real = slack.SlackImport._insert

    def failing(self: slack.SlackImport, channel: Channel, planned: list[Any]) -> None:
        real(self, channel, planned)
        if channel.name == "random":
            raise RuntimeError("disk full")

    monkeypatch.setattr(slack.SlackImport, "_insert", failing)
    output = run(path)
    assert "#random: not imported (disk full)" in output
    with rls.acting_as_service():
        assert list(Channel.objects.values_list("name", flat=True)) == ["general"]
        assert list(Message.objects.values_list("content", flat=True)) == ["a"]
    monkeypatch.setattr(slack.SlackImport, "_insert", real)
    output = run(path)
    assert "channels: 1 new, 1 already imported" in output
    with rls.acting_as_service():
        assert Message.objects.count() == 2


def test_zip_slip_and_oversized_members_are_never_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("integrations.importers.slack_export.MAX_JSON_BYTES", 2000)
    users = [sx.user("U01", "alice", "alice@example.com")]
    channels = [sx.channel("C01", "general", ["U01"])]
    huge = json.dumps([sx.message("U01", "x" * 3000, sx.ts(1))]).encode()
    path = sx.write_export(
        tmp_path / "export.zip", users=users, channels=channels,
        raw={"../../evil/2019-03-04.json": b"[]", "general/2019-03-04.json": huge,
             "__uploads/../../x": b"x"},
    )  # fmt: skip
    output = run(path)
    assert "larger than 2000 bytes" in output
    assert not (tmp_path.parent / "evil").exists()
    with rls.acting_as_service():
        assert Message.objects.count() == 0


def test_long_and_odd_messages(tmp_path: Path) -> None:
    users = [sx.user("U01", "alice", "alice@example.com")]
    channels = [sx.channel("C01", "general", ["U01"])]
    items = [
        sx.message("U01", "y" * 5000, sx.ts(1)),
        sx.message("U01", "bell\x07 rings", sx.ts(2)),
        sx.message("U01", "dup", sx.ts(3)),
        sx.message("U01", "dup again", sx.ts(3)),
        {"type": "file_comment", "ts": sx.ts(4)},
        sx.message("U01", "<!subteam^S1|@devs> and <!date^1|Feb 18> <mailto:a@b.c|a@b.c>",
                   sx.ts(5)),
        sx.message("U01", "tones", sx.ts(6), reactions=[
            {"name": "thumbsup::skin-tone-3", "users": ["U01", "U99"]}, "junk"]),
    ]  # fmt: skip
    output = run(sx.write_export(tmp_path / "e.zip", users=users, channels=channels,
                                 messages={"general": items}))  # fmt: skip
    with rls.acting_as_service():
        rows = list(Message.objects.order_by("seq"))
    assert len(rows[0].content) == 4000 and rows[0].content.endswith("…")
    assert rows[1].content == "bell rings"
    assert rows[2].content == "dup"
    assert rows[3].content == "@devs and Feb 18 <mailto:a@b.c>"
    assert rows[4].reactions[0]["emoji"] == "👍🏼"
    assert "messages, duplicate ts: 1" in output
    assert "messages, not a message: 1" in output
    assert "reactions, unknown user: 1" in output
    assert "cut to 4000 characters" in output


def test_converter_references() -> None:
    converter = Converter(username_of={"U1": "ann"}.get, channel_name_of={"C1": "dev"}.get)
    convert = converter.convert
    assert convert("<@U1> <@U2|zed> <@U3>") == "@ann @zed @unknown"
    assert convert("<#C1> <#C2|ops> <#C3>") == "#dev #ops #unknown"
    assert convert("<!channel> <!everyone> <!here|here>") == "@channel @channel @here"
    assert convert("<https://a.b/c_d_e|a *b*>") == "[a *b*](https://a.b/c_d_e)"
    assert convert("<https://a.b/x(y)|[x]>") == "[\\[x\\]](https://a.b/x(y%29)"
    assert convert("<https://a.b>") == "https://a.b"
    assert convert("<javascript:alert(1)|x>") == "javascript:alert(1)|x"
    assert convert("*a* _b_ ~c~ 2*3*4 `*x*` &amp;lt;") == "**a** _b_ ~~c~~ 2*3*4 `*x*` &lt;"


def test_progress_goes_to_stderr_only_when_asked(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(export)
    assert "day files" not in capsys.readouterr().err  # not a terminal, not asked
    run(export, "--progress")
    assert "3/3 day files" in capsys.readouterr().err


def test_progress_bar_draws_plain_text() -> None:
    stream = io.StringIO()
    bar = slack.Progress(stream, 2)
    bar.advance("#general")
    bar.advance("#general")
    bar.finish()
    assert "[###############...............] 1/2 day files #general" in stream.getvalue()
    assert "[##############################] 2/2" in stream.getvalue()
    assert stream.getvalue().endswith("\n")


def test_files_that_cannot_be_attachments_are_skipped_and_counted(
    tmp_path: Path, settings: Any
) -> None:
    settings.CHAT_UPLOAD_MAX_BYTES = 1000
    users = [sx.user("U01", "alice", "alice@example.com")]
    channels = [sx.channel("C01", "general", ["U01"])]
    many = [{"id": f"M{n}", "name": f"n{n}.txt"} for n in range(11)]
    items = [
        sx.message("U01", "gone", sx.ts(1), files=[{"id": "F1", "mode": "tombstone"}]),
        sx.message("U01", "big", sx.ts(2), files=[{"id": "F2", "name": "big.txt"}]),
        sx.message("U01", "fake", sx.ts(3), files=[{"id": "F3", "name": "report.pdf"}]),
        sx.message("U01", "", sx.ts(4), files=many),
    ]
    blobs = {"F2": ("big.txt", b"x" * 2000), "F3": ("report.pdf", b"<html><script>")}
    blobs.update({f"M{n}": (f"n{n}.txt", b"note") for n in range(11)})
    output = run(sx.write_export(tmp_path / "e.zip", users=users, channels=channels,
                                 messages={"general": items}, files=blobs))  # fmt: skip
    assert "files, deleted or hidden in Slack: 1" in output
    assert "files, too large: 1" in output
    assert "files, refused: 1" in output
    assert "files, over 10 on a message: 1" in output
    assert "files: 10 new" in output
    with rls.acting_as_service():
        last = Message.objects.order_by("seq").last()
    assert last is not None and last.content == "" and len(last.attachments) == 10
