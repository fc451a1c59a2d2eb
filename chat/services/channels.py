"""Creating channels, joining and leaving them, their members and read markers."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from accounts import roles
from accounts.models import User
from chat import audit, events, selectors
from chat.exceptions import NotFound, PermissionDenied, ValidationError
from chat.models import Channel, Membership
from chat.services import base
from chat.validators import CHANNEL_NAME_RE, CHANNEL_NAME_RULE
from chatsite import ratelimit


class Unset:
    """A keyword left out, where None is a value of its own."""


UNSET = Unset()


@transaction.atomic
def channel_create(
    *, user: User, name: str, title: str = "", topic: str = "", is_private: bool = False
) -> Channel:
    """Create a channel; its creator becomes its owner."""
    base.check_rate(ratelimit.CHANNEL_CREATE, user, "new channels")
    if not isinstance(name, str) or not CHANNEL_NAME_RE.match(name):
        raise ValidationError("Invalid channel name.", fields={"name": [CHANNEL_NAME_RULE]})
    if Channel.objects.filter(name=name).exists():
        raise ValidationError(
            "A channel with this name exists.", fields={"name": ["This name is taken."]}
        )
    try:
        # No savepoint: the IntegrityError leaves the service (as a ValidationError), whose
        # own savepoint undoes the attempt.
        with transaction.atomic(savepoint=False):
            channel = Channel.objects.create(
                name=name, title=title or name, topic=topic, is_private=is_private, created_by=user
            )
    except IntegrityError:
        raise ValidationError(
            "A channel with this name exists.", fields={"name": ["This name is taken."]}
        ) from None
    Membership.objects.create(channel=channel, user=user, role=Membership.Role.OWNER)
    base.notify_joined(user=user, channel=channel)
    return channel


@transaction.atomic
def channel_join(*, user: User, channel_id: Any) -> Membership:
    """Join a public channel (joining one's own channel again changes nothing)."""
    channel = selectors.channel_get(user=user, channel_id=channel_id)
    membership = Membership.objects.filter(channel=channel, user=user).first()
    if membership is not None:
        return membership
    if channel.is_private:
        raise PermissionDenied("Private channels are joined by invitation.")
    base.check_writable(channel)
    membership, created = Membership.objects.get_or_create(channel=channel, user=user)
    if created:
        base.notify_joined(user=user, channel=channel)
    return membership


def _remove_member(*, channel: Channel, user: User) -> bool:
    """Delete ``user``'s membership (a private channel keeps an owner) and tell their sockets."""
    owners = base.lock_owners(channel)
    membership = Membership.objects.select_for_update().filter(channel=channel, user=user).first()
    if membership is None:
        return False
    base.check_not_last_owner(channel=channel, membership=membership, owners=owners)
    shown = base.channel_as_left(user=user, channel=channel)
    membership.delete()
    events.notify_membership(user_id=user.pk, channel=shown, joined=False)
    return True


@transaction.atomic
def channel_leave(*, user: User, channel_id: Any) -> None:
    """Leave a channel (the last owner of a private channel cannot; a direct message's
    members stay)."""
    channel = selectors.channel_get(user=user, channel_id=channel_id)
    base.check_not_dm(channel, "be left")
    _remove_member(channel=channel, user=user)


@transaction.atomic
def channel_member_add(*, actor: User, channel_id: Any, user: User) -> tuple[Membership, bool]:
    """Add a user to a channel: its owners and moderators may."""
    channel = selectors.channel_get(user=actor, channel_id=channel_id)
    base.check_not_dm(channel, "take new members")
    is_owner = Membership.objects.filter(
        channel=channel, user=actor, role=Membership.Role.OWNER
    ).exists()
    if not (is_owner or roles.is_moderator(actor)):
        raise PermissionDenied("Only the channel's owners and moderators can add members.")
    base.check_rate(ratelimit.MEMBER_ADD, actor, "member additions")
    if not user.is_active:
        raise ValidationError("This user is deactivated.", fields={"user_id": ["Inactive."]})
    membership, created = Membership.objects.get_or_create(channel=channel, user=user)
    if created:
        base.notify_joined(user=user, channel=channel)
    return membership, created


@transaction.atomic
def channel_member_remove(*, actor: User, channel_id: Any, user: User) -> bool:
    """Take a user out of a channel: its owners and moderators may, and anyone may take
    themselves out (leave). Returns whether they were in.

    The last owner of a private channel stays (ValidationError); a direct message's members
    are fixed (PermissionDenied). The removed user's sockets stop following the channel as
    soon as the ``membership`` event reaches them (chat.consumers).
    """
    channel = selectors.channel_get(user=actor, channel_id=channel_id)
    base.check_not_dm(channel, "lose members")
    if actor.pk != user.pk:
        base.check_owner_or_moderator(actor=actor, channel=channel)
    base.check_rate(ratelimit.MEMBER_CHANGE, actor, "member changes")
    return _remove_member(channel=channel, user=user)


@transaction.atomic
def channel_member_set_role(*, actor: User, channel_id: Any, user: User, role: str) -> Membership:
    """Make a member an owner of the channel, or an owner a plain member."""
    if role not in Membership.Role.values:
        raise ValidationError("Unknown membership role.", fields={"role": ["Unknown role."]})
    channel = selectors.channel_get(user=actor, channel_id=channel_id)
    base.check_not_dm(channel, "have owners")
    base.check_owner_or_moderator(actor=actor, channel=channel)
    owners = base.lock_owners(channel)
    membership = Membership.objects.select_for_update().filter(channel=channel, user=user).first()
    if membership is None:
        raise ValidationError(
            "Not a member of this channel.", fields={"user_id": ["Not a member."]}
        )
    if role != Membership.Role.OWNER:
        base.check_not_last_owner(channel=channel, membership=membership, owners=owners)
    if membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def channel_mark_read(*, user: User, channel_id: Any, seq: int) -> Membership:
    """Move the user's read marker forward to ``seq`` (never back, never past last_seq)."""
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise ValidationError("seq must be a non-negative integer.", fields={"seq": ["Invalid."]})
    channel = selectors.channel_get(user=user, channel_id=channel_id)
    membership = Membership.objects.select_for_update().filter(channel=channel, user=user).first()
    if membership is None:
        raise ValidationError(
            "Join the channel to keep a read marker.", fields={"channel_id": ["Not a member."]}
        )
    target = min(seq, channel.last_seq)
    if target > membership.last_read_seq:
        membership.last_read_seq = target
        membership.save(update_fields=["last_read_seq"])
        events.notify_read(user_id=user.pk, channel_id=channel.pk, seq=target)
    return membership


@transaction.atomic
def membership_update(
    *, user: User, channel_id: Any, notify: str | None = None, muted: bool | None = None
) -> Membership:
    """Change how the user is notified in a channel they belong to (docs/api.md, "Mentions"):
    ``notify`` (``all``, ``mentions``, ``none``) and ``muted``. Not a member: NotFound."""
    base.check_rate(ratelimit.MEMBERSHIP, user, "notification setting changes")
    problems: dict[str, list[str]] = {}
    if notify is not None and notify not in Membership.Notify.values:
        problems["notify"] = [f"Must be one of: {', '.join(Membership.Notify.values)}."]
    if muted is not None and not isinstance(muted, bool):
        problems["muted"] = ["Must be true or false."]
    if problems:
        raise ValidationError("Invalid notification settings.", fields=problems)
    channel = selectors.channel_get(user=user, channel_id=channel_id)
    membership = Membership.objects.select_for_update().filter(channel=channel, user=user).first()
    if membership is None:
        raise NotFound("You are not a member of this channel.")
    changed = []
    if notify is not None and notify != membership.notify:
        membership.notify = notify
        changed.append("notify")
    if muted is not None and muted != membership.muted:
        membership.muted = muted
        changed.append("muted")
    if changed:
        membership.save(update_fields=changed)
    return membership


@transaction.atomic
def channel_update(
    *,
    actor: User,
    channel_id: Any,
    title: str | None = None,
    topic: str | None = None,
    retention_days: int | Unset | None = UNSET,
) -> Channel:
    """Change a channel's title or topic (its owners and moderators), or its retention
    (moderators only; None follows CHAT_RETENTION_DAYS): ``channel.updated`` to everyone
    following it. A blank title falls back to the name, as at creation."""
    channel = selectors.channel_get(user=actor, channel_id=channel_id)
    base.check_not_dm(channel, "be renamed")
    base.check_owner_or_moderator(actor=actor, channel=channel, what="edit the title and topic")
    if not isinstance(retention_days, Unset) and not roles.is_moderator(actor):
        raise PermissionDenied(
            "Only moderators change a channel's retention.", code="moderators_only"
        )
    if title is not None or topic is not None:
        base.check_writable(channel)
    base.check_rate(ratelimit.EDIT, actor, "edits")
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = title or channel.name
    if topic is not None:
        changes["topic"] = topic
    if not isinstance(retention_days, Unset):
        changes["retention_days"] = retention_days
    changed = [field for field, value in changes.items() if getattr(channel, field) != value]
    if changed:
        Channel.objects.filter(pk=channel.pk).update(**{field: changes[field] for field in changed})
        channel.refresh_from_db()
        if "retention_days" in changed:
            audit.record(
                actor=actor,
                target=channel,
                description=str(channel),
                change_message=f"Set retention to {_retention_words(channel.retention_days)}.",
            )
        events.notify_channel_updated(channel)
    return channel


def _retention_words(days: int | None) -> str:
    if days is None:
        return "the site's default"
    return "keep forever" if days == 0 else f"{days} days"
