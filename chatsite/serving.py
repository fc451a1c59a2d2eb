"""Where a DEBUG process may listen: on loopback addresses only.

With DEBUG on, Django answers errors with tracebacks that show code, settings and request data.
`manage.py serve` (what `make run` starts) checks its address before it migrates or seeds;
``chatsite.asgi`` checks a Daphne command line (``daphne -b 0.0.0.0 chatsite.asgi:application``)
when Daphne imports the application, before it listens. docs/operations.md, "Defaults and first
start".
"""

from __future__ import annotations

import ipaddress
import re
import socket
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEBUG_NEEDS_LOOPBACK = (
    "DEBUG is on, so chatsite serves on a loopback address only (127.0.0.1, ::1, localhost), "
    "not {host}: to serve other machines set DJANGO_DEBUG=0 and ALLOWED_HOSTS (with "
    "DJANGO_SECRET_KEY, CSRF_TRUSTED_ORIGINS and DJANGO_HTTPS=1 behind TLS; "
    "docs/operations.md, 'Defaults and first start')"
)


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback address."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return False
    return bool(addresses) and all(
        ipaddress.ip_address(str(address).split("%")[0]).is_loopback for address in addresses
    )


def daphne_addresses(argv: list[str]) -> list[str]:
    """The addresses a Daphne command line listens on (none if ``argv`` is not Daphne's).

    Unix sockets are left out (local by nature); a file descriptor or an endpoint of another
    kind is listed as it is written, so it counts as not loopback.
    """
    program = Path(argv[0]) if argv else Path()
    if "daphne" not in (program.name, program.parent.name):
        return []
    from daphne.cli import DEFAULT_HOST, CommandLineInterface

    try:
        args, _ = CommandLineInterface().parser.parse_known_args(argv[1:])
    except SystemExit:  # not a command line Daphne would have run with
        return []
    addresses = []
    if (
        args.host
        or args.port is not None
        or not (args.unix_socket or args.file_descriptor is not None or args.socket_strings)
    ):
        addresses.append(args.host or DEFAULT_HOST)
    if args.file_descriptor is not None:
        addresses.append(f"fd:{args.file_descriptor}")
    for description in args.socket_strings:
        kind, _, rest = description.partition(":")
        if kind in {"tcp", "tcp6", "ssl"}:
            parts = re.split(r"(?<!\\):", rest)  # Twisted escapes colons in values as \:
            options = dict(part.split("=", 1) for part in parts if "=" in part)
            addresses.append(options.get("interface", "0.0.0.0").replace("\\:", ":"))  # noqa: S104
        elif kind != "unix":
            addresses.append(description)
    return addresses


def refuse_public_debug_server(argv: list[str]) -> None:
    """Stop a DEBUG Daphne whose command line listens beyond loopback."""
    if not settings.DEBUG:
        return
    for address in daphne_addresses(argv):
        if not is_loopback(address):
            raise ImproperlyConfigured(DEBUG_NEEDS_LOOPBACK.format(host=address))
