"""The API root: the entry points this caller may follow."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.api.deps import OptionalUser, StateDep
from services.api.hal import Link, Resource, link, respond
from services.api.paging import API
from services.api.security import Role

router = APIRouter(tags=["root"])


class Root(Resource):
    name: str = "maskwatch"
    version: str = "v1"
    signed_in_as: str | None = None


@router.get(f"{API}/", response_model=Root, summary="Entry points")
def root(request: Request, caller: OptionalUser, state: StateDep) -> Response:
    links: dict[str, Link] = {
        "self": link(f"{API}/"),
        "docs": link("/docs", title="Interactive API documentation"),
        "openapi": link("/openapi.json"),
    }
    if caller is None:
        links["login"] = link(f"{API}/auth/login", "POST", "Sign in with email and password")
        if state.api.oidc is not None:
            links["oidc_login"] = link(f"{API}/auth/oidc/login", "GET", "Sign in through single sign-on")
        return respond(request, Root(links=links), etag=False)
    links |= next_steps(caller.role, all_sites=caller.all_sites)
    return respond(request, Root(links=links, signed_in_as=caller.email), etag=False)


def next_steps(role: Role, *, all_sites: bool) -> dict[str, Link]:
    """What a signed-in user of `role` may follow: the root's links, and the sign-in answer's too, so a
    client goes on from either without building URLs."""
    links = {
        "me": link(f"{API}/auth/me"),
        "logout": link(f"{API}/auth/logout", "POST"),
        "tokens": link(f"{API}/tokens"),
        "sites": link(f"{API}/sites"),
        "site_stats": link(f"{API}/stats/sites", title="Today's figures of every site you may see"),
        "gates": link(f"{API}/gates"),
        "cameras": link(f"{API}/cameras"),
        "checks": link(f"{API}/checks"),
        "alerts": link(f"{API}/alerts"),
        "events": link(f"{API}/events", title="Live stream of checks and alerts (text/event-stream)"),
        "vapid_public_key": link(f"{API}/push/vapid-public-key", title="For subscribing to Web Push"),
        "push_subscriptions": link(
            f"{API}/me/push-subscriptions", "POST", "Register this browser for a site's alerts"
        ),
        "fcm_tokens": link(f"{API}/me/fcm-tokens", "POST", "Register this phone for a site's alerts"),
    }
    if role == Role.ADMIN:
        links["devices"] = link(f"{API}/devices", title="Gates and cameras: broker accounts and health")
        links["deliveries"] = link(f"{API}/deliveries", title="Notifications delivered, owed or dead")
        links["notification_channels"] = link(
            f"{API}/notification-channels", title="Channels a recipient may be on, and which are set up"
        )
    if role == Role.ADMIN and all_sites:
        links["users"] = link(f"{API}/users")
        links["audit"] = link(f"{API}/audit")
    return links
