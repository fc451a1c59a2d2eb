"""ASGI entry point of the plain-view reference, served by Daphne like chatsite."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.ref_django.settings")
application = get_asgi_application()
