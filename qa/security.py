"""Who may open the chat page: the one place that decides (called by `qa.ui.app.serve`).

On a loopback address the page is private to this machine and needs no password. Anywhere
else it must have a password (`qa serve --auth user:password` / ``QA_AUTH``), or the operator
must say explicitly that it is unprotected (`--insecure-no-auth` / ``QA_ALLOW_UNAUTHENTICATED``).
"""

from __future__ import annotations

import ipaddress

from qa.errors import QAError
from qa.settings import Settings

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything: treat as exposed


def parse_auth(value: str) -> tuple[str, str]:
    """'user:password' → (user, password); the password may contain ':'."""
    user, sep, password = value.partition(":")
    if not sep or not user.strip() or not password:
        raise QAError("--auth / QA_AUTH must look like user:password (both parts non-empty)")
    return user.strip(), password


def server_auth(settings: Settings, host: str | None = None) -> list[tuple[str, str]] | None:
    """Credentials the page must require when bound to `host` (None: open). Raises `QAError`
    instead of starting an unprotected page on a non-loopback address."""
    host = host or settings.host
    if settings.auth is not None:
        return [parse_auth(settings.auth.get_secret_value())]
    if is_loopback(host) or settings.allow_unauthenticated:
        return None
    raise QAError(
        f"refusing to serve on {host} without a password: anyone who can reach it could use it. "
        "Add `--auth user:password` (or set QA_AUTH), bind to 127.0.0.1, "
        "or pass --insecure-no-auth if the network is trusted"
    )
