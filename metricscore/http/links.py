"""Where links in responses point: the public base URL, the mount prefix and the allowed hosts.

PostHog's ``next``/``previous`` are absolute URLs and Statsig's ``nextPage``/``previousPage``/``all``
are paths; both must lead back to this app as clients reach it:

- **mounted** under a prefix (WSGI ``SCRIPT_NAME``, ASGI ``root_path``): links keep the prefix;
- behind a proxy, with ``public_url`` (e.g. ``https://api.example.com/metrics``): links start with
  it, whatever the request's ``Host`` header and mount prefix;
- otherwise PostHog's links use the request's scheme and ``Host`` header, but only when that host is
  one of ``allowed_hosts`` (so a forged ``Host`` cannot plant links to another site); any other host
  is replaced by the first allowed one (``.example.com``: ``example.com``; only ``*``: ``localhost``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from ..errors import ConfigurationError

__all__ = ["DEFAULT_ALLOWED_HOSTS", "LinkBase", "check_base_url", "host_allowed"]

#: The hosts trusted when none are configured: the loopback names (and Django's test client's).
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]", "testserver")
_HOST = re.compile(r"^(?:[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$")


def check_base_url(url: str) -> str:
    """``url`` without a trailing ``/``; ConfigurationError unless it is an http(s) URL without query."""
    try:
        parts = urlsplit(url.strip())
    except (AttributeError, TypeError, ValueError):  # not a string, or a host urlsplit refuses (http://[::1)
        raise ConfigurationError(f"{url!r} is not a public base URL: give http(s)://host[:port][/prefix]") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(
            f"{url!r} is not a public base URL: give http(s)://host[:port][/prefix], without query or fragment"
        )
    if not _HOST.match(parts.netloc.lower()):
        raise ConfigurationError(f"{url!r} has an invalid host {parts.netloc!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _name(host: str) -> str:
    """``host`` without its port (``[::1]:8000`` -> ``[::1]``), lowercased."""
    host = host.lower()
    if host.startswith("["):
        return host[: host.index("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_allowed(host: str, patterns: Sequence[str]) -> bool:
    """Whether the ``Host`` header ``host`` matches one of ``patterns`` (Django's ALLOWED_HOSTS rules:
    ``*`` any host, ``.example.com`` the domain and its subdomains, else the exact name; ports ignored)."""
    if not _HOST.match(host.lower()):
        return False
    name = _name(host)
    for pattern in patterns:
        pattern = pattern.lower()
        if pattern == "*" or name == _name(pattern):
            return True
        if pattern.startswith(".") and (name.endswith(pattern) or name == pattern[1:]):
            return True
    return False


class LinkBase:
    """Builds the base of links for a request: ``public_url``, else scheme + allowed host + prefix."""

    def __init__(self, public_url: str | None = None, allowed_hosts: Sequence[str] | None = None) -> None:
        self.public_url = None if public_url is None else check_base_url(public_url)
        if isinstance(allowed_hosts, (str, bytes)) or not isinstance(allowed_hosts, (Iterable, type(None))):
            raise ConfigurationError(f"allowed_hosts is a list of host names, not {allowed_hosts!r}")
        hosts = DEFAULT_ALLOWED_HOSTS if allowed_hosts is None else tuple(allowed_hosts)
        for host in hosts:
            if type(host) is not str or (host != "*" and not _HOST.match(host.lower().lstrip("."))):
                raise ConfigurationError(f"{host!r} is not a host name for allowed_hosts")
        self.allowed_hosts = hosts

    def absolute(self, scheme: str, host: str | None, root_path: str) -> str:
        """The absolute URL this app is reached at (no trailing ``/``)."""
        if self.public_url is not None:
            return self.public_url
        if not host or not host_allowed(host, self.allowed_hosts):
            host = next((h.lstrip(".") for h in self.allowed_hosts if h != "*"), "localhost")
        scheme = scheme if scheme in ("http", "https") else "http"
        return f"{scheme}://{host}{_mount(root_path)}"

    def prefix(self, root_path: str) -> str:
        """The path this app is reached under (``/metrics``, or ``""`` at the root)."""
        if self.public_url is not None:
            return urlsplit(self.public_url).path
        return _mount(root_path)


def _mount(root_path: str) -> str:
    """The mount prefix as links show it: one leading ``/`` and no trailing one (``""`` at the
    root). Several leading slashes (a ``SCRIPT_NAME`` of ``//evil.example``, which gunicorn takes
    from a header sent through a trusted proxy) would make a path link lead to another host."""
    inner = root_path.strip("/")
    return f"/{inner}" if inner else ""
