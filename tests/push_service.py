"""A push service on 127.0.0.1 for the Web Push tests, and the browser's side of a
subscription: a P-256 key pair and an auth secret, so the test decrypts what the worker sent
(RFC 8291, aes128gcm, with http_ece) and checks the VAPID signature (RFC 8292)."""

from __future__ import annotations

import base64
import json
import os
import queue
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class BrowserKeys:
    """What a browser keeps for one subscription: its private key and the auth secret."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        return dict(json.loads(plain))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class PushService:
    """``/ok/<name>`` answers 201 Created as a push service does; ``/gone/<name>`` 410 Gone;
    ``/fail/<name>`` 500. Every request lands in ``received``."""

    def __init__(self) -> None:
        self.received: queue.Queue[Received] = queue.Queue()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                service.received.put(Received(self.path, headers, body))
                status = 201
                if self.path.startswith("/gone/"):
                    status = 410
                elif self.path.startswith("/fail/"):
                    status = 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> PushService:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next(self, timeout: float = 30.0) -> Received:
        return self.received.get(timeout=timeout)


def vapid_claims(received: Received, public_key: str) -> dict[str, Any]:
    """The VAPID JWT's claims after checking its ES256 signature with ``public_key``:
    ``Authorization: vapid t=<jwt>, k=<key>`` (RFC 8292)."""
    header = received.headers["authorization"]
    assert header.startswith("vapid "), header
    parts = dict(item.strip().split("=", 1) for item in header[len("vapid ") :].split(","))
    assert parts["k"] == public_key
    token = parts["t"]
    signing_input, signature = token.rsplit(".", 1)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(public_key))
    raw = b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    payload = signing_input.split(".")[1]
    return dict(json.loads(b64url_decode(payload)))
