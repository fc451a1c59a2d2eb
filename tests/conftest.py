"""Shared fixtures. The suite runs against real PostgreSQL and Redis (see Makefile)."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from django.conf import settings
from django.contrib.auth.hashers import get_hashers

from chat import services
from chatsite import rls
from tests.factories import ChannelFactory, MembershipFactory, UserFactory

if settings.DATABASES["default"]["ENGINE"] != "chatsite.db":
    pytest.exit(
        "tests need PostgreSQL: run `make test`, or set DATABASE_URL and REDIS_URL", returncode=4
    )

# Each xdist worker has its own test database, so user ids repeat across workers: keep their
# channel-layer groups and cache keys apart too. Redis pub/sub channels are shared by all
# databases of a server, so two checkouts testing at once are kept apart by their path.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
_CHECKOUT = hashlib.blake2s(str(settings.BASE_DIR).encode(), digest_size=3).hexdigest()
_TEST_PREFIX = f"chatsite-test-{_CHECKOUT}-{_WORKER}"
for _layer in settings.CHANNEL_LAYERS.values():
    _config = cast(dict[str, Any], _layer.setdefault("CONFIG", {}))
    _config["prefix"] = _TEST_PREFIX
settings.CACHES["default"]["KEY_PREFIX"] = _TEST_PREFIX

# Uploaded files go to a directory of this test process (and of the live servers it starts,
# which inherit the environment), removed when it exits.
_MEDIA_ROOT = tempfile.mkdtemp(prefix=f"chatsite-media-{_WORKER}-")
atexit.register(shutil.rmtree, _MEDIA_ROOT, ignore_errors=True)
os.environ["MEDIA_ROOT"] = _MEDIA_ROOT
settings.MEDIA_ROOT = Path(_MEDIA_ROOT)
settings.STORAGES["attachments"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(Path(_MEDIA_ROOT) / "uploads")},
}

# Log-ins in the test process hash with one PBKDF2 iteration instead of a million.
settings.PASSWORD_HASHERS = ["tests.factories.FastPasswordHasher"]
get_hashers.cache_clear()  # type: ignore[attr-defined]


LIVE_FIXTURES = {"daphne", "daphne_servers", "daphne_core_servers"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on live Daphne processes are `live`, so `make check` can leave them out."""
    for item in items:
        if LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.live)


@pytest.fixture(autouse=True)
def _forget_failed_logins() -> None:
    """django-axes counts failed logins per username and address in the cache (Redis): each
    test starts with none, or a few wrong-password tests would lock `alice` out for the rest.
    Rate-limit counters go too: user ids start again in each run's fresh test database."""
    from django.core.cache import cache

    delete_pattern = getattr(cache, "delete_pattern", None)  # django-redis; not LocMemCache
    if delete_pattern is None:
        return
    for pattern in ("axes-*", "rate:*"):
        delete_pattern(pattern)


@pytest.fixture(autouse=True)
def service_context() -> Iterator[None]:
    """Test set-up writes as the service role; requests and consumers set their own."""
    with rls.acting_as_service():
        yield


@pytest.fixture(autouse=True)
def _connect_reads_give_back() -> Iterator[None]:
    """The connect-read threads keep a connection while reads keep coming (chat/read_threads.py);
    after each test they give it back, so nothing holds the test database when it is emptied
    or dropped."""
    yield
    from chat import read_threads

    read_threads.give_back_connections()


@pytest.fixture
def user_factory() -> type[UserFactory]:
    return UserFactory


@pytest.fixture
def alice(db: None) -> Any:
    return UserFactory.create(username="alice", display_name="Alice")


@pytest.fixture
def bob(db: None) -> Any:
    return UserFactory.create(username="bob", display_name="Bob")


@pytest.fixture
def moderator(db: None) -> Any:
    return UserFactory.create(username="mod", role="moderator")


@pytest.fixture
def channel(db: None, alice: Any) -> Any:
    """A public channel that alice owns."""
    channel = ChannelFactory.create(name="general", created_by=alice)
    MembershipFactory.create(channel=channel, user=alice, role="owner")
    return channel


@pytest.fixture
def private_channel(db: None, alice: Any) -> Any:
    """A private channel with alice as its only member."""
    channel = ChannelFactory.create(name="secret", is_private=True, created_by=alice)
    MembershipFactory.create(channel=channel, user=alice, role="owner")
    return channel


@pytest.fixture
def post() -> Any:
    """post(user, channel, content): a message sent through the service."""

    def _post(user: Any, channel: Any, content: str = "hello", **kwargs: Any) -> Any:
        message, _ = services.message_create(
            user=user, channel_id=channel.pk, content=content, **kwargs
        )
        return message

    return _post


def _start_live_pair(
    django_db_blocker: Any, log_dir: Any, extra: dict[str, str] | None = None
) -> list[Any]:
    from django.db import connection

    from tests import live

    with django_db_blocker.unblock():
        database_url = live.database_url_for(connection.settings_dict)
    env = live.server_environment(
        database_url=database_url, redis_url=settings.REDIS_URL, prefix=_TEST_PREFIX, extra=extra
    )
    return live.start_servers(2, log_dir=log_dir, env=env)


@pytest.fixture(scope="session")
def daphne_servers(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Any]]:
    """Two Daphne processes on the test database and this worker's channel layer, per session.

    Started on first use and shared by every test of the session; they run as production
    does: DEBUG off, JSON logs, the runtime role, the default (pub/sub) layer (tests/live.py).
    """
    from tests import live

    servers = _start_live_pair(django_db_blocker, tmp_path_factory.mktemp("daphne"))
    yield servers
    live.stop_servers(servers)


@pytest.fixture(scope="module")
def daphne_core_servers(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Any]]:
    """Two more, as ``daphne_servers`` but on RedisChannelLayer (CHANNEL_LAYER_BACKEND=core),
    for the multi-process tests that must hold on both layers. Per module, so their database
    connections go as soon as those tests are done (the suite shares PostgreSQL's
    max_connections with everything else on the machine). The two layers keep their groups
    under different Redis keys, so an event reaches only the pair it was posted to; the
    cache (rate limits, presence) is the same one.
    """
    from tests import live

    servers = _start_live_pair(
        django_db_blocker,
        tmp_path_factory.mktemp("daphne-core"),
        extra={"CHANNEL_LAYER_BACKEND": "core"},
    )
    yield servers
    live.stop_servers(servers)


@pytest.fixture
def daphne(daphne_servers: list[Any], transactional_db: None) -> Any:
    """A live Daphne (tests.live.LiveServer: .url, .ws_url); test data must be committed."""
    return daphne_servers[0]


@pytest.fixture
def open_signup(settings: Any) -> None:
    """Anyone may sign up (CHAT_SIGNUP=open), for tests of the sign-up doors themselves."""
    settings.CHAT_SIGNUP = "open"
