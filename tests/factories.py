"""factory_boy factories for the chat models. Messages are posted through the services."""

from __future__ import annotations

import factory
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password

from accounts.models import User
from chat.models import Channel, Membership

PASSWORD = "correct-horse-battery"


class FastPasswordHasher(PBKDF2PasswordHasher):
    """PBKDF2 with one iteration, the test suite's hasher (tests/conftest.py).

    Its hashes name their iteration count, so a live server with the production hasher
    verifies them too (and upgrades them at the first log-in, as it would any old hash).
    """

    iterations = 1


# Every factory user logs in with PASSWORD.
_PASSWORD_HASH = make_password(PASSWORD, hasher=FastPasswordHasher())


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    display_name = factory.LazyAttribute(lambda o: o.username.title())
    password = _PASSWORD_HASH
    role = User.Role.MEMBER


class ChannelFactory(factory.django.DjangoModelFactory[Channel]):
    class Meta:
        model = Channel

    name = factory.Sequence(lambda n: f"channel-{n}")
    title = factory.LazyAttribute(lambda o: o.name.title())
    is_private = False


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    channel = factory.SubFactory(ChannelFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.MEMBER
