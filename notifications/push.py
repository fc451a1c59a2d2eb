"""Web Push (docs/operations.md, "Push notifications"): VAPID keys from the environment, the
payload encrypted to a subscription's keys (aes128gcm, RFC 8291) and sent by pywebpush.

Keys are the forms browsers use: ``VAPID_PUBLIC_KEY`` the uncompressed P-256 point and
``VAPID_PRIVATE_KEY`` the 32-byte secret, both base64url without padding, as
``manage.py generate_vapid_keys`` prints them. Without both, push is off and the web client
does not offer it.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

# What a push service answers for a subscription that no longer exists (RFC 8030, 7.3).
GONE_STATUSES = frozenset({404, 410})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate_keys() -> tuple[str, str]:
    """A new VAPID key pair: (public, private), base64url."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    secret = private.private_numbers().private_value.to_bytes(32, "big")
    return b64url(public), b64url(secret)


def enabled() -> bool:
    return bool(settings.VAPID_PUBLIC_KEY and settings.VAPID_PRIVATE_KEY)


def public_key() -> str | None:
    return settings.VAPID_PUBLIC_KEY or None


def is_public_key(text: str) -> bool:
    """A base64url uncompressed P-256 point: what ``p256dh`` and VAPID public keys are."""
    try:
        raw = b64url_decode(text)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except (ValueError, TypeError):
        return False
    return len(raw) == 65


def is_auth_secret(text: str) -> bool:
    try:
        return len(b64url_decode(text)) == 16
    except (ValueError, TypeError):
        return False


def endpoint_problem(url: str) -> str | None:
    """Why the worker must not POST to ``url``, or None. Push services are public HTTPS
    hosts; loopback, private and link-local addresses are refused (the worker would
    otherwise reach inside the network for whoever subscribes), unless
    ``CHAT_PUSH_ALLOW_PRIVATE_ENDPOINTS`` is on (tests, closed networks)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Not a valid URL."
    host = (parts.hostname or "").rstrip(".")
    if not host or parts.username or parts.password:
        return "The URL needs a host and no credentials."
    if settings.CHAT_PUSH_ALLOW_PRIVATE_ENDPOINTS:
        return None if parts.scheme in ("https", "http") else "Use an https URL."
    if parts.scheme != "https":
        return "Use an https URL."
    if port not in (None, 443):
        return "Push services listen on the default https port."
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "The push service must be a public host."
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if not address.is_global:
        return "The push service must be a public host."
    return None


@dataclass(frozen=True)
class PushOutcome:
    """What the push service said: ``gone`` means remove the subscription."""

    status: int
    gone: bool


def send(*, endpoint: str, p256dh: str, auth: str, payload: dict[str, Any]) -> PushOutcome:
    """Encrypt ``payload`` (JSON) to the subscription and POST it; raises
    ``WebPushException`` for an answer other than success or gone, so the task retries."""
    vapid = Vapid02.from_raw(settings.VAPID_PRIVATE_KEY.encode("ascii"))
    try:
        response = webpush(
            subscription_info={"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
            data=json.dumps(payload, separators=(",", ":")),
            vapid_private_key=vapid,
            vapid_claims={"sub": settings.VAPID_SUBJECT},
            ttl=settings.CHAT_PUSH_TTL_SECONDS,
            timeout=10,
            headers={"Urgency": "high"},
        )
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        if status in GONE_STATUSES:
            return PushOutcome(status=int(status), gone=True)
        raise
    return PushOutcome(status=int(getattr(response, "status_code", 201)), gone=False)
