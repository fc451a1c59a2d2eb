"""A webhook receiver on 127.0.0.1 for the outgoing webhook tests: an ``http.server`` in a
thread that checks each request's X-Chatsite-Signature with the secret it is told, records
what it got, and answers by path:

- ``/ok``: 200 with the JSON answer the test set (``answer``), or an empty body;
- ``/text``: 200 text/plain (not JSON: ignored by chatsite);
- ``/fail``: 500; ``/gone``: 404; ``/moved``: a 302 to ``/ok`` (never followed);
- ``/slow``: answers after ``slow_seconds`` (longer than the timeout under test).

``start(tls_files=(cert, key))`` serves HTTPS with that certificate instead.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import queue
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str = ""
    answer: dict[str, Any] | None = None
    slow_seconds: float = 3.0
    requests: queue.Queue[Received] = field(default_factory=queue.Queue)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def next(self, timeout: float = 20.0) -> Received:
        try:
            return self.requests.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("the receiver got no request") from None

    def count(self) -> int:
        return self.requests.qsize()

    def start(self, tls_files: tuple[str, str] | None = None) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                expected = (
                    "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                )
                signed = self.headers.get("X-Chatsite-Signature", "")
                receiver.requests.put(
                    Received(
                        path=self.path,
                        headers={key.lower(): value for key, value in self.headers.items()},
                        body=body,
                        signature_ok=hmac.compare_digest(expected, signed),
                    )
                )
                if self.path == "/slow":
                    time.sleep(receiver.slow_seconds)
                if self.path == "/fail":
                    self._answer(500, b"boom", "text/plain")
                elif self.path == "/gone":
                    self._answer(404, b"no", "text/plain")
                elif self.path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", receiver.url("/ok"))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/text":
                    self._answer(200, b"thanks", "text/plain")
                else:
                    data = json.dumps(receiver.answer).encode() if receiver.answer else b""
                    self._answer(200, data, "application/json")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (a timeout under test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls_files is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls_files)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def self_signed_certificate(directory: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that nobody trusts, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)
