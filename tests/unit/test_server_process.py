"""What loading chatsite.asgi does to the server process, and the database pool's wait."""

from __future__ import annotations

import gc
import sys

from django.conf import settings


def test_loading_the_asgi_app_freezes_start_up_objects_and_sets_the_switch_interval() -> None:
    import chatsite.asgi  # noqa: F401

    assert gc.get_freeze_count() > 10_000
    assert sys.getswitchinterval() == settings.SWITCH_INTERVAL_SECONDS == 0.001


def test_a_request_waits_three_seconds_for_a_pooled_connection() -> None:
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["pool"]["timeout"] == 3
