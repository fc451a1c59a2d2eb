"""Create the users and channels of one benchmark run, and mint their access tokens.

Run by bench/common.py as ``python -m bench.seed`` with the bench DATABASE_URL, a JSON plan on
stdin, and the result as JSON on stdout::

    plan:   {"users": 50, "user_prefix": "bench",
             "channels": [{"name": "bench-1a2b-0", "members": [0, 1, 2]}]}
    result: {"users": [{"id", "username", "token"}], "channels": [{"id", "name"}]}

bench/common.py gives every run its own user prefix, so users and channels are new on every
run: a user of an earlier run is a member of that run's channels, and a connection joins the
group (and gets the presence notices) of every channel its user belongs to. Each channel starts
at seq 0. Users that already exist under a name are reused. Tokens are minted directly (the
same signing key as the servers) so that the per-IP rate limit on /api/auth/token/ stays out
of the measurement.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    django.setup()

    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from chat.models import Channel, Membership
    from chatsite import rls

    plan: dict[str, Any] = json.load(sys.stdin)
    prefix = str(plan.get("user_prefix", "bench"))
    usernames = [f"{prefix}{i}" for i in range(int(plan["users"]))]
    with rls.acting_as_service(), transaction.atomic():
        existing = {u.username: u for u in User.objects.filter(username__in=usernames)}
        missing = [name for name in usernames if name not in existing]
        if missing:
            password = make_password(None)  # unusable: these users never log in
            User.objects.bulk_create(
                [
                    User(
                        username=name,
                        email=f"{name}@bench.invalid",
                        display_name=name,
                        password=password,
                    )
                    for name in missing
                ],
                batch_size=1000,
            )
            existing.update(
                {u.username: u for u in User.objects.filter(username__in=missing)},
            )
        users = [existing[name] for name in usernames]

        channels_out = []
        for spec in plan.get("channels", []):
            members = [users[i] for i in spec.get("members", [])]
            channel = Channel.objects.create(
                name=spec["name"],
                title=spec["name"],
                is_private=bool(spec.get("is_private", False)),
                created_by=members[0] if members else None,
            )
            Membership.objects.bulk_create(
                [
                    Membership(channel=channel, user=user, role="owner" if n == 0 else "member")
                    for n, user in enumerate(members)
                ],
                batch_size=1000,
            )
            channels_out.append({"id": str(channel.pk), "name": channel.name})

    result = {
        "users": [
            {"id": str(u.pk), "username": u.username, "token": str(AccessToken.for_user(u))}
            for u in users
        ],
        "channels": channels_out,
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
