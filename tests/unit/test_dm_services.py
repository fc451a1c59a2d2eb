"""Direct-message and conversation rules of the services, without a socket or a request."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError

from chat import selectors, services
from chat.exceptions import PermissionDenied, ValidationError
from chat.models import Membership
from chat.validators import validate_channel_name
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_the_member_key_is_the_sorted_distinct_ids() -> None:
    assert selectors.dm_key([12, 3, "7", 3]) == "3,7,12"


def test_dm_names_pass_the_model_validator_and_nothing_else_like_them() -> None:
    validate_channel_name("dm." + "0" * 32)
    validate_channel_name("general")
    for bad in ("dm.", "dm.xyz", "DM." + "0" * 32, "dm-" + "0" * 32 + "."):
        with pytest.raises(DjangoValidationError):
            validate_channel_name(bad)


def test_a_dm_has_no_owner_and_no_role_changes(alice: Any, bob: Any) -> None:
    dm, created = services.dm_open(user=alice, user_ids=[str(bob.pk)])
    assert created and dm.created_by == alice
    assert set(Membership.objects.filter(channel=dm).values_list("role", flat=True)) == {"member"}
    with pytest.raises(PermissionDenied):
        services.channel_member_set_role(actor=alice, channel_id=dm.pk, user=bob, role="owner")


def test_the_last_owner_of_a_private_channel_cannot_be_demoted(
    alice: Any, bob: Any, private_channel: Any
) -> None:
    MembershipFactory.create(channel=private_channel, user=bob)
    with pytest.raises(ValidationError) as refused:
        services.channel_member_set_role(
            actor=alice, channel_id=private_channel.pk, user=alice, role="member"
        )
    assert refused.value.code == "last_owner"
    services.channel_member_set_role(
        actor=alice, channel_id=private_channel.pk, user=bob, role="owner"
    )
    services.channel_member_set_role(
        actor=alice, channel_id=private_channel.pk, user=alice, role="member"
    )
    assert Membership.objects.get(channel=private_channel, user=alice).role == "member"


def test_the_channel_list_titles_each_dm_for_the_user_asking(alice: Any, bob: Any) -> None:
    dm, _ = services.dm_open(user=alice, user_ids=[bob.pk])
    page, _cursor = selectors.channel_list_page(user=bob, limit=10)
    (shown,) = [channel for channel in page if channel.pk == dm.pk]
    members = shown.dm_members  # type: ignore[attr-defined]
    assert [member.username for member in members] == ["alice", "bob"]
    assert selectors.dm_members_of(user=alice) == {str(dm.pk): list(members)}
