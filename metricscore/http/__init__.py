"""metricscore.http: every installed dialect's endpoints as a framework-agnostic ``handle(request) -> response``.

::

    import metricscore as mc
    from metricscore.http import App, Request

    app = App(mc.open_store("sqlite:///metrics.db"))
    key = app.keys.create("posthog", scopes=["account:read"], projects=[1])
    response = app.handle(
        Request("GET", "/api/environments/1/accounts/", headers={"Authorization": f"Bearer {key.token}"})
    )

Adapters: :func:`metricscore.http.wsgi.wsgi_app` (stdlib WSGI) and
:func:`metricscore.http.asgi.asgi_app`. The core imports no web framework.
"""

from __future__ import annotations

from .core import App, Request, Response, Route
from .dialect import HttpDialect
from .keys import ApiKey, KeyForm, Keyring, NewKey
from .ratelimit import STATSIG_LIMITS, RateLimiter, Window

__all__ = [
    "POSTHOG_SCOPES",
    "STATSIG_LIMITS",
    "ApiKey",
    "App",
    "HttpDialect",
    "KeyForm",
    "Keyring",
    "NewKey",
    "RateLimiter",
    "Request",
    "Response",
    "Route",
    "Window",
]


def __getattr__(name: str) -> object:
    # POSTHOG_SCOPES lives with PostHog's HTTP face; kept importable from here as documented.
    if name == "POSTHOG_SCOPES":
        from .posthog import POSTHOG_SCOPES

        return POSTHOG_SCOPES
    raise AttributeError(name)
