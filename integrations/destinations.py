"""Where an outgoing webhook may send: checked when it is configured and again before each
delivery, against the addresses its host resolves to at that moment (docs/integrations.md,
"Which destinations are allowed").

A target is refused unless every address of its host is public: no loopback, private
(RFC 1918, fc00::/7), link-local (169.254/16 with the cloud metadata address, fe80::/10),
multicast, reserved, unspecified or shared (CGNAT, 100.64/10) address, except the networks an
operator lists in ``CHAT_OUTGOING_WEBHOOK_ALLOWED_NETWORKS``. The delivery then connects to
the address that was checked, never resolving the name again, so a name cannot point at one
address for the check and another for the connection; TLS is still verified for the name.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2000
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # CGNAT, RFC 6598


class Refused(Exception):
    """A URL that is malformed or names a destination that is not allowed; the message says
    which, without echoing the URL."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query string

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


@cache
def _allowed_networks(setting: str) -> tuple[IPNetwork, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False)
        for part in setting.split(",")
        if part.strip()
    )


def allowed_networks() -> tuple[IPNetwork, ...]:
    return _allowed_networks(settings.CHAT_OUTGOING_WEBHOOK_ALLOWED_NETWORKS)


def address_allowed(address: IPAddress) -> bool:
    """Whether a delivery may connect to ``address``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed_networks()):
        return True
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address in SHARED_ADDRESS_SPACE
        or not address.is_global
    )


def parse(url: object) -> Target:
    """The parts of an http(s) URL, or ``Refused``."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise Refused(f"An http:// or https:// URL of at most {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise Refused("A URL without spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("Not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise Refused("Only http:// and https:// URLs.")
    if not parts.hostname:
        raise Refused("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise Refused("No user name or password in the URL; use the secret to authenticate.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default, path)


def resolve(target: Target) -> IPAddress:
    """The address to connect to: the first one the host resolves to, once every one of
    them is allowed (a name with one private address among public ones is refused)."""
    try:
        literal: IPAddress | None = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise Refused("The host name does not resolve.") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addresses:
            raise Refused("The host name does not resolve.")
    for address in addresses:
        if not address_allowed(address):
            raise Refused(
                "The host is or resolves to a private, loopback, link-local or otherwise"
                " reserved address, which outgoing webhooks may not reach."
            )
    return addresses[0]


def check(url: object) -> Target:
    """Parse and resolve ``url`` now (a hook being configured), or ``Refused``."""
    target = parse(url)
    resolve(target)
    return target


def post(
    target: Target,
    address: IPAddress,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    max_answer: int,
) -> Answer:
    """POST ``body`` to ``target`` through a connection to ``address``: no redirect followed,
    no retry here, at most ``max_answer`` bytes of the answer read. Raises urllib3's errors
    (timeouts, refused connections, TLS failures)."""
    pool_class: type[urllib3.HTTPConnectionPool]
    options: dict[str, object] = {}
    if target.scheme == "https":
        pool_class = urllib3.HTTPSConnectionPool
        options = {
            "server_hostname": target.host,
            "assert_hostname": target.host,
            "cert_reqs": "CERT_REQUIRED",
        }
    else:
        pool_class = urllib3.HTTPConnectionPool
    pool = pool_class(
        str(address),
        target.port,
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        retries=False,
        maxsize=1,
        **options,  # type: ignore[arg-type]
    )
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": target.host_header},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            data = response.read(max_answer + 1)
        finally:
            response.release_conn()
        return Answer(
            status=response.status,
            content_type=response.headers.get("Content-Type", ""),
            body=data if len(data) <= max_answer else b"",
        )
    finally:
        pool.close()
