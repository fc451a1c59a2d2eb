"""One plain JSON view: what the same Django stack costs without DRF, JWT and the database."""

import json

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from chatsite import health


@csrf_exempt
@transaction.non_atomic_requests
def echo(request: HttpRequest) -> JsonResponse:
    """Parse the JSON body and answer 201 with a small JSON document, like a created message."""
    body = json.loads(request.body or b"{}")
    return JsonResponse({"ok": True, "content": body.get("content")}, status=201)


urlpatterns = [
    path("healthz", health.healthz),
    path("echo", echo),
]
