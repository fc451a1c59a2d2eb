"""chatsite's own settings (middleware, pool, logging) with the reference view as the URLconf."""

from chatsite.settings import *  # noqa: F403

ROOT_URLCONF = "bench.ref_django.urls"
