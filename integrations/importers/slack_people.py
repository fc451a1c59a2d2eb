"""The people of a Slack export: members as accounts waiting to be claimed (or the accounts
that already have their email), bots as bot accounts (docs/integrations.md, "Moving in from
Slack")."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower

from accounts.models import User
from accounts.usernames import username_key
from integrations.importers.report import Summary
from integrations.importers.slack_values import USERNAME_MAX, nested, text_of, username_base
from integrations.models import ImportedAccount, SlackObject

Kind = SlackObject.Kind
PLACEHOLDER_DOMAIN = "slack-import.invalid"
BOT_DOMAIN = "bots.invalid"
RESERVED_USERNAMES = {"channel", "here", "everyone"}


def mapped(kind: str) -> dict[str, str]:
    """``{slack id: object id}`` of what earlier runs made of ``kind``."""
    return dict(SlackObject.objects.filter(kind=kind).values_list("slack_id", "object_id"))


class People:
    """Who is who: Slack user and bot ids to accounts, and usernames for mentions."""

    def __init__(self, summary: Summary) -> None:
        self.summary = summary
        self.users: dict[str, User] = {}
        self.bots: dict[str, User] = {}
        self.usernames: dict[str, Any] = {}

    def import_users(self, entries: list[dict[str, Any]]) -> None:
        """Map or make an account for each member of ``users.json``."""
        known = mapped(Kind.USER)
        existing = User.objects.in_bulk([int(pk) for pk in known.values()])
        for entry in sorted(entries, key=lambda e: str(e["id"])):
            slack_id = entry["id"]
            found = existing.get(int(known[slack_id])) if slack_id in known else None
            if found is not None:
                self.users[slack_id] = found
                self.summary.existing["users"] += 1
                continue
            user = self._user_for(entry)
            self.users[slack_id] = user
            SlackObject.objects.update_or_create(
                kind=Kind.USER, slack_id=slack_id, defaults={"object_id": str(user.pk)}
            )
        self.usernames.update({u.username.lower(): u.pk for u in self.users.values()})

    def _user_for(self, entry: dict[str, Any]) -> User:
        slack_id = entry["id"]
        email = nested(entry, "profile", "email")
        email = email.strip().lower() if isinstance(email, str) else ""
        try:
            validate_email(email)
        except DjangoValidationError:
            email = ""
        if email and len(email) <= 254:
            same = User.objects.filter(email__iexact=email).first()
            if same is not None:
                self.summary.imported["users_matched"] += 1
                return same
        else:
            email = ""
        is_bot = entry.get("is_bot") is True
        name = entry.get("name") if isinstance(entry.get("name"), str) else ""
        display = (
            text_of(nested(entry, "profile", "display_name"), 80)
            or text_of(nested(entry, "profile", "real_name"), 80)
            or text_of(entry.get("real_name"), 80)
        )
        username = self._free_username(username_base(name or display or slack_id))
        if is_bot:
            email = f"{username}@{BOT_DOMAIN}"
        user = User(
            username=username,
            email=email or f"{slack_id.lower()}@{PLACEHOLDER_DOMAIN}",
            display_name=display,
            password=make_password(None),
            is_active=False,
            is_bot=is_bot,
        )
        user.save()
        if not is_bot:
            ImportedAccount.objects.create(user=user, source="slack", source_id=slack_id)
        self.summary.imported["bots" if is_bot else "users"] += 1
        return user

    def _free_username(self, base: str) -> str:
        """``base``, or ``base-2``, ``base-3``, ... : the first that no account has, nor one
        that looks like it (accounts.usernames)."""
        number = 1
        while True:
            candidate = base if number == 1 else f"{base[: USERNAME_MAX - 4]}-{number}"
            if (
                candidate not in RESERVED_USERNAMES
                and not User.objects.filter(username_skeleton=username_key(candidate)).exists()
            ):
                return candidate
            number += 1

    def username_of(self, slack_id: str) -> str | None:
        user = self.users.get(slack_id) or self.bots.get(slack_id)
        return user.username if user is not None else None

    def lookup(self, names: set[str]) -> dict[str, Any]:
        """Mention look-up for rendering: imported accounts count though not yet claimed."""
        missing = names - self.usernames.keys()
        if missing:
            rows = User.objects.annotate(name=Lower("username")).filter(name__in=missing)
            self.usernames.update(dict(rows.values_list("name", "pk")))
        return {name: self.usernames[name] for name in names if name in self.usernames}

    def bot_for(self, entry: dict[str, Any]) -> User | None:
        """The bot user for a ``bot_message`` (one per ``bot_id``, else per ``username``)."""
        bot_id = entry.get("bot_id")
        name = entry.get("username") or nested(entry, "bot_profile", "name")
        key = bot_id if isinstance(bot_id, str) and bot_id else None
        if key is None and isinstance(name, str) and name:
            key = f"name:{name}"[:200]
        if key is None:
            return None
        if key in self.bots:
            return self.bots[key]
        mapped = SlackObject.objects.filter(kind=Kind.BOT, slack_id=key).first()
        bot = User.objects.filter(pk=int(mapped.object_id)).first() if mapped else None
        if bot is None:
            shown = text_of(name, 80) or key
            username = self._free_username(username_base(shown) + "-bot")
            bot = User(
                username=username,
                email=f"{username}@{BOT_DOMAIN}",
                display_name=shown,
                password=make_password(None),
                is_active=False,
                is_bot=True,
            )
            bot.save()
            SlackObject.objects.update_or_create(
                kind=Kind.BOT, slack_id=key, defaults={"object_id": str(bot.pk)}
            )
            self.summary.imported["bots"] += 1
        else:
            self.summary.existing["bots"] += 1
        self.bots[key] = bot
        self.usernames[bot.username.lower()] = bot.pk
        return bot
