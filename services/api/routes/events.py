"""Live stream of checks and alerts for the dashboard, as Server-Sent Events.

The stream polls the database rather than subscribing to a queue, so it works
whichever process wrote the rows and needs nothing but the database. Checks
are found by their decided_at index within a short look-back window (a check
written late by the stats writer still appears) and remembered by id so none is
sent twice; alerts by their increasing id, acknowledgements and resolutions by
their time.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import anyio
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from maskwatch.database.schema import DEFAULT_SITE, alerts, check_reasons, checks, gates
from services.api.deps import _bearer, _cookie, get_state
from services.api.paging import API
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.alerts import alert_state, detail_box, detail_since, detail_track
from services.api.security import Caller, caller_for_token
from services.api.state import AppState

router = APIRouter(prefix=API, tags=["events"], responses=PROBLEM_RESPONSES)
LOOKBACK = timedelta(seconds=30)
KEEPALIVE_S = 15.0
REMEMBER = 50_000


def stream_caller(
    state: Annotated[AppState, Depends(get_state)],
    cookie: Annotated[str | None, Depends(_cookie)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """Authenticate with a connection of its own, so a long stream does not hold one from the pool."""
    token = bearer.credentials if bearer is not None else cookie
    caller = None
    if token:
        with state.engine.connect() as conn:
            caller = caller_for_token(conn, state.secret_key, token)
    if caller is None:
        raise Problem(
            401, "unauthenticated", "sign in or send an API token", headers={"WWW-Authenticate": "Bearer"}
        )
    return caller


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class Poller:
    """Finds what is new since the last poll, for one caller's sites."""

    def __init__(self, engine: sa.Engine, caller: Caller) -> None:
        self._engine = engine
        self._sites = caller.visible_sites()
        self._sent: OrderedDict[Any, None] = OrderedDict()
        self._last_alert = 0
        self._last_ack = datetime.now(UTC)
        self._last_resolved = self._last_ack

    def _site_filter(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
        return sa.true() if self._sites is None else column.in_(sorted(self._sites))

    def prime(self) -> None:
        """Remember what already exists, so a new stream starts with what happens next."""
        self.poll()

    def poll(self) -> list[tuple[str, str, dict[str, Any]]]:
        now = datetime.now(UTC)
        site = sa.func.coalesce(gates.c.site_id, DEFAULT_SITE)
        out: list[tuple[str, str, dict[str, Any]]] = []
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(checks.c.check_id, checks.c.gate_id, checks.c.decided_at, checks.c.decision, site)
                .select_from(checks.outerjoin(gates, gates.c.gate_id == checks.c.gate_id))
                .where(checks.c.decided_at >= now - LOOKBACK, self._site_filter(site))
                .order_by(checks.c.decided_at)
            ).all()
            new = [r for r in rows if r.check_id not in self._sent]
            reasons: dict[Any, list[str]] = {r.check_id: [] for r in new}
            if new:
                for cid, reason in conn.execute(
                    sa.select(check_reasons.c.check_id, check_reasons.c.reason).where(
                        check_reasons.c.check_id.in_(list(reasons)), check_reasons.c.enforced.is_(True)
                    )
                ):
                    reasons[cid].append(reason)
            for r in new:
                self._sent[r.check_id] = None
                data = {
                    "check_id": str(r.check_id),
                    "gate_id": r.gate_id,
                    "site_id": r[4],
                    "decided_at": _iso(r.decided_at),
                    "decision": r.decision,
                    "reasons": sorted(reasons[r.check_id]),
                    "href": f"{API}/checks/{r.check_id}",
                }
                out.append(("check", str(r.check_id), data))
            while len(self._sent) > REMEMBER:
                self._sent.popitem(last=False)
            opened = conn.execute(
                sa.select(alerts)
                .where(alerts.c.alert_id > self._last_alert, self._site_filter(alerts.c.site_id))
                .order_by(alerts.c.alert_id)
            ).all()
            for a in opened:
                self._last_alert = max(self._last_alert, a.alert_id)
                out.append(("alert", f"alert-{a.alert_id}", self._alert(a)))
            acked = conn.execute(
                sa.select(alerts).where(
                    alerts.c.acknowledged_at > self._last_ack, self._site_filter(alerts.c.site_id)
                )
            ).all()
            for a in acked:
                self._last_ack = max(self._last_ack, _utc(a.acknowledged_at) or self._last_ack)
                out.append(("alert_acknowledged", f"ack-{a.alert_id}", self._alert(a)))
            resolved = conn.execute(
                sa.select(alerts)
                .where(alerts.c.resolved_at > self._last_resolved, self._site_filter(alerts.c.site_id))
                .order_by(alerts.c.resolved_at, alerts.c.alert_id)
            ).all()
            for a in resolved:
                self._last_resolved = max(self._last_resolved, _utc(a.resolved_at) or self._last_resolved)
                out.append(("alert_resolved", f"resolved-{a.alert_id}", self._alert(a)))
        return out

    @staticmethod
    def _alert(a: sa.Row[Any]) -> dict[str, Any]:
        href = f"{API}/alerts/{a.alert_id}"
        details: dict[str, Any] = a.details if isinstance(a.details, dict) else {}
        return {
            "alert_id": a.alert_id,
            "site_id": a.site_id,
            "device_id": a.device_id,
            "kind": a.kind,
            "opened_at": _iso(a.opened_at),
            "state": alert_state(a),
            "acknowledged_at": _iso(a.acknowledged_at),
            "acknowledged_by": a.acknowledged_by,
            "resolved_at": _iso(a.resolved_at),
            "resolved_by": a.resolved_by,
            "resolution": a.resolution,
            "track": detail_track(details),
            "box": detail_box(details),
            "unmasked_since": _iso(detail_since(details)),
            "snapshot": f"{href}/snapshot" if a.snapshot else None,
            "crop": f"{href}/crop" if a.crop else None,
            "details": details,
            "href": href,
        }


EVENTS_DESCRIPTION = """
A stream that starts with what happens next (nothing from before it was opened) and
holds only the sites you may see. Each event has a name (`event:`), an id (`id:`) and a
JSON object (`data:`):

- `check`: a gate decided a check: `check_id`, `gate_id`, `site_id`, `decided_at`,
  `decision`, `reasons` (the enforced ones) and `href`.
- `alert`: an alert opened.
- `alert_acknowledged`: someone acknowledged an alert.
- `alert_resolved`: an alert resolved, by itself (the person masked up or left) or by hand.

The three alert events carry the alert: `alert_id`, `site_id`, `device_id`, `kind`,
`state`, `opened_at`, `acknowledged_at`, `acknowledged_by`, `resolved_at`,
`resolved_by`, `resolution` (`masked`, `left`, `by_hand` or null), `track`, `box`,
`unmasked_since`, `snapshot` and `crop` (the images' addresses, or null), `details` and
`href` (the alert resource). Comment lines (`: keep-alive`) keep idle connections open.
"""


def format_event(kind: str, event_id: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\nid: {event_id}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "The events, as they happen"}},
    summary="Live checks and alerts of your sites (Server-Sent Events)",
    description=EVENTS_DESCRIPTION,
)
async def events(
    request: Request,
    caller: Annotated[Caller, Depends(stream_caller)],
    state: Annotated[AppState, Depends(get_state)],
) -> StreamingResponse:
    poller = Poller(state.engine, caller)
    await anyio.to_thread.run_sync(poller.prime)

    async def stream() -> AsyncIterator[str]:
        yield ": connected\nretry: 2000\n\n"
        idle = 0.0
        while not await request.is_disconnected():
            batch = await anyio.to_thread.run_sync(poller.poll)
            for kind, event_id, data in batch:
                yield format_event(kind, event_id, data)
            idle = 0.0 if batch else idle + state.api.events_poll_s
            if idle >= KEEPALIVE_S:
                idle = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(state.api.events_poll_s)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
