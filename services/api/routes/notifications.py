"""Who hears of a site's alerts, what was delivered to them, and the devices people register for themselves.

- Recipients of a site (webhook, e-mail, SNS, FCM, Web Push) are managed by the
  site's admins. A webhook gets its signing secret in the answer to its creation
  and never again: the database keeps it for the notifier, the API never shows
  secrets.
- Deliveries are the notifier's record of each message owed; an admin of the
  site reads them and retries a dead one once the receiver is fixed.
- Any signed-in user registers their own browser (a Web Push subscription) or
  phone (an FCM registration token) for one of their sites, and removes it again.
  A browser needs the server's VAPID public key to subscribe: it is made once,
  stored, and shared with the notifier through the database (or taken from the
  notifier's settings when they name one).

The API may not import the notifier, so the channels' address shapes are
declared again here (tests/api/test_notification_routes.py fails when they
drift apart), and a retry reaches the running notifier as a `DeliveryRetry` on
its stream.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from anyio import from_thread
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field, field_validator, model_validator

from maskwatch.contracts import AlertKind, DeliveryRetry
from maskwatch.database import server_keys
from maskwatch.database.notifications import DEAD, REGISTERED_BY, registered_by, revive
from maskwatch.database.notifications import quiet_hours as stored_quiet_hours
from maskwatch.database.schema import alerts, deliveries, notification_recipients
from maskwatch.notification_keys import (
    VAPID_KEY_NAME,
    WEBHOOK_SECRET_KEY,
    check_push_keys,
    generate_vapid_keys,
    new_webhook_secret,
    vapid_public_key,
)
from maskwatch.notification_rules import SEVERITY_LABELS, QuietHours, RateLimit
from maskwatch.streams import append
from services.api import audit
from services.api.deps import CurrentUser, SessionDep, StateDep, require_site
from services.api.hal import Link, Page, Resource, create_link, link, page, require_match, respond
from services.api.paging import API, Paging
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.routes.sites import SLUG, SiteId, load_site
from services.api.security import Caller, Role
from services.api.state import AppState

log = logging.getLogger(__name__)

router = APIRouter(tags=["notifications"], responses=PROBLEM_RESPONSES)

Channel = Literal["webhook", "email", "sns", "fcm", "webpush"]
Language = Literal["en", "ko"]
DeliveryStatus = Literal["pending", "sent", "dead"]
RecipientId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DeliveryId = Annotated[UUID, Path(description="The delivery's id")]

"""Kept in a device's `secrets`: the user who registered it through /me, the only one who may remove it
there. The notifier reads only the keys its channel needs."""

# The shapes each channel can deliver to; an address of another shape would only ever be a dead delivery.
SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
SNS_ENDPOINT_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:endpoint/.+$")
SNS_PHONE = re.compile(r"^\+\d{2,20}$")
EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")
FCM_TOKEN = r"^[A-Za-z0-9_:.\-]+$"
MAX_KINDS = 16
SeverityLabel = Literal["info", "warning", "critical"]
assert SEVERITY_LABELS == ("info", "warning", "critical")  # the Literal above spells them for OpenAPI


def _valid_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


def _url(value: str, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in schemes and bool(parts.netloc) and not any(c.isspace() for c in value)


def check_address(channel: str, address: str) -> None:
    """Raise ValueError unless the channel can deliver to `address`.

    Push endpoints must be https: anyone signed in may register one, and the notifier POSTs to it.
    """
    if channel == "webhook":
        ok = _url(address, ("https", "http"))
        what = "an http(s):// URL"
    elif channel == "webpush":
        ok = _url(address, ("https",))
        what = "the subscription's https:// endpoint"
    elif channel == "email":
        ok = EMAIL.match(address) is not None
        what = "an e-mail address"
    elif channel == "sns":
        ok = any(p.match(address) for p in (SNS_TOPIC_ARN, SNS_ENDPOINT_ARN, SNS_PHONE))
        what = "an SNS topic ARN, endpoint ARN or E.164 phone number"
    else:
        ok = re.match(FCM_TOKEN, address) is not None
        what = "an FCM registration token"
    if not ok:
        raise ValueError(f"a {channel} recipient's address is {what}")


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _kinds(kinds: list[AlertKind]) -> list[str]:
    return list(dict.fromkeys(kind.value for kind in kinds))


def _registered_by(row: sa.Row[Any]) -> int | None:
    return registered_by(row)


def _rate_limit(value: str | None) -> str | None:
    """Checked and written the one way the notifier reads (`5/10min`)."""
    return None if value is None else str(RateLimit.parse(value))


class RulesIn(BaseModel):
    """What a recipient (or a user's own device) hears, and when."""

    min_severity: SeverityLabel = Field(
        default="info",
        description="The least severe alerts heard: `info` (all), `warning` (a person unmasked too long and "
        "worse), `critical` (only a device gone offline)",
    )
    quiet_hours: QuietHours | None = Field(
        default=None,
        description="A daily span in the recipient's time zone when messages are held; they arrive as one "
        "digest when it ends",
    )
    rate_limit: str | None = Field(
        default=None,
        max_length=32,
        description="At most this many messages, e.g. `5/10min`, `1/h`; beyond it they are held for one "
        "digest. Null: the channel's default",
        examples=["5/10min"],
    )

    _rate = field_validator("rate_limit")(_rate_limit)


# --- Bodies and resources ---


class PushKeys(BaseModel):
    """A push subscription's keys, as `PushSubscription.toJSON().keys` gives them (base64url)."""

    p256dh: str = Field(max_length=200, description="The browser's P-256 public key (65 bytes, base64url)")
    auth: str = Field(max_length=100, description="The subscription's auth secret (16 bytes, base64url)")

    @model_validator(mode="after")
    def _usable(self) -> PushKeys:
        check_push_keys(self.p256dh, self.auth)
        return self


class RecipientIn(RulesIn):
    channel: Channel
    address: str = Field(
        min_length=1,
        max_length=2000,
        description="A webhook's URL, an e-mail address, an SNS topic ARN, endpoint ARN or E.164 number, "
        "an FCM registration token, or a Web Push subscription's endpoint",
    )
    language: Language = "en"
    time_zone: str = Field(default="UTC", max_length=64, description="For the times in messages")
    kinds: list[AlertKind] = Field(
        default_factory=list, max_length=MAX_KINDS, description="The alert kinds they hear of; empty: all"
    )
    keys: PushKeys | None = Field(default=None, description="A Web Push subscription's keys (webpush only)")

    _zone = field_validator("time_zone")(_valid_zone)

    @model_validator(mode="after")
    def _fits_channel(self) -> RecipientIn:
        check_address(self.channel, self.address)
        if (self.channel == "webpush") != (self.keys is not None):
            raise ValueError("keys are required for a webpush recipient, and only for one")
        return self


class RecipientPatch(BaseModel):
    enabled: bool | None = Field(default=None, description="false: they hear of nothing until enabled again")
    language: Language | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    kinds: list[AlertKind] | None = Field(default=None, max_length=MAX_KINDS)
    address: str | None = Field(default=None, min_length=1, max_length=2000)
    keys: PushKeys | None = Field(default=None, description="New subscription keys (webpush only)")
    min_severity: SeverityLabel | None = None
    quiet_hours: QuietHours | None = Field(default=None, description="null: no quiet hours")
    rate_limit: str | None = Field(default=None, max_length=32, description="null: the channel's default")

    _rate = field_validator("rate_limit")(_rate_limit)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _valid_zone(value)


class RecipientOut(Resource):
    recipient_id: int
    site_id: str
    channel: str
    address: str
    language: str
    time_zone: str
    kinds: list[str] = Field(description="The alert kinds they hear of; empty: all")
    min_severity: str = Field(description="The least severe alerts they hear of")
    quiet_hours: QuietHours | None = Field(description="When messages are held for a digest")
    rate_limit: str | None = Field(description="Their own rate limit; null: the channel's default")
    enabled: bool = Field(
        description="false: switched off by an admin, or by the notifier when the channel said the "
        "address is gone"
    )
    created_at: datetime
    registered_by: int | None = Field(
        description="The user who registered this device for themselves; null for one an admin added"
    )


class RecipientCreatedOut(RecipientOut):
    webhook_secret: str | None = Field(
        default=None,
        description="A webhook's signing secret (`whsec_…`), in this answer only: store it now to verify "
        "the `webhook-signature` header; it cannot be read again",
    )


class DeliveryOut(Resource):
    delivery_id: str
    site_id: str
    alert_key: str = Field(description="The alert's id on the alerts stream")
    alert_id: int | None = Field(description="The alert's id in this API, once the alert is recorded")
    transition: str
    channel: str
    recipient_id: int
    status: str = Field(description="`pending`, `sent`, or `dead` (no more tries; an admin may retry)")
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class RetriedOut(DeliveryOut):
    queued: bool = Field(
        description="true: the running notifier was told to send it now; false: no shared queue (or it "
        "could not be reached), so the notifier sends it when it next starts"
    )


class PushSubscriptionIn(RulesIn):
    """What `PushSubscription.toJSON()` gives (other fields, such as `expirationTime`, are ignored), and
    which site's alerts it is for."""

    site_id: str = Field(pattern=SLUG)
    endpoint: str = Field(min_length=1, max_length=2000, description="The push service's https:// URL")
    keys: PushKeys
    language: Language = "en"
    time_zone: str = Field(default="UTC", max_length=64)
    kinds: list[AlertKind] = Field(default_factory=list, max_length=MAX_KINDS)

    _zone = field_validator("time_zone")(_valid_zone)

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        check_address("webpush", value)
        return value


class FcmTokenIn(RulesIn):
    site_id: str = Field(pattern=SLUG)
    token: str = Field(min_length=1, max_length=2000, pattern=FCM_TOKEN, description="The registration token")
    language: Language = "en"
    time_zone: str = Field(default="UTC", max_length=64)
    kinds: list[AlertKind] = Field(default_factory=list, max_length=MAX_KINDS)

    _zone = field_validator("time_zone")(_valid_zone)


class DeviceOut(Resource):
    recipient_id: int
    site_id: str
    channel: str
    address: str = Field(description="The push endpoint or the FCM token")
    language: str
    time_zone: str
    kinds: list[str]
    min_severity: str
    quiet_hours: QuietHours | None
    rate_limit: str | None
    enabled: bool
    created_at: datetime


class VapidKeyOut(Resource):
    application_server_key: str = Field(
        description="The server's VAPID public key, base64url: pass it to "
        "`pushManager.subscribe({userVisibleOnly: true, applicationServerKey})`"
    )


# --- Channels ---

CHANNEL_ADDRESSES: dict[str, str] = {
    "webhook": "The receiver's http(s):// URL; requests are signed the Standard Webhooks way",
    "email": "An e-mail address",
    "sns": "An SNS topic ARN, a platform endpoint ARN, or an E.164 phone number",
    "fcm": "An FCM registration token (phones register their own: POST /me/fcm-tokens)",
    "webpush": "A Web Push subscription's https:// endpoint, with its keys (browsers register their own: "
    "POST /me/push-subscriptions)",
}


class ChannelOut(Resource):
    name: Channel
    configured: bool = Field(
        description="true: the notifier has what it needs to send on this channel; false: its settings "
        "(notifier.channels.<name>) are missing, so deliveries on it would fail until they are added"
    )
    address: str = Field(description="What a recipient's address is on this channel")


def channel_resource(state: AppState, name: str) -> ChannelOut:
    href = f"{API}/notification-channels/{name}"
    return ChannelOut(
        links={"self": link(href), "collection": link(f"{API}/notification-channels")},
        name=cast(Channel, name),
        configured=name in state.notification_channels,
        address=CHANNEL_ADDRESSES[name],
    )


def _any_admin(caller: Caller) -> None:
    if caller.role != Role.ADMIN:
        raise Problem(403, "forbidden", "only admins manage notifications")


@router.get(
    f"{API}/notification-channels",
    response_model=Page[ChannelOut],
    summary="The channels a recipient may be on, and whether this installation is set up for each (admins)",
)
def list_channels(request: Request, caller: CurrentUser, state: StateDep) -> Response:
    _any_admin(caller)
    items = [channel_resource(state, name) for name in CHANNEL_ADDRESSES]
    return page(request, items, 0, len(items), len(items))


@router.get(
    f"{API}/notification-channels/{{name}}", response_model=ChannelOut, summary="One channel (admins)"
)
def get_channel(request: Request, name: Channel, caller: CurrentUser, state: StateDep) -> Response:
    _any_admin(caller)
    return respond(request, channel_resource(state, name))


# --- Recipients of a site ---

RECIPIENT_COLUMNS = notification_recipients.c


def recipient_href(recipient_id: int) -> str:
    return f"{API}/recipients/{recipient_id}"


def recipient_resource(row: sa.Row[Any]) -> RecipientOut:
    href = recipient_href(row.recipient_id)
    links = {
        "self": link(href),
        "site": link(f"{API}/sites/{row.site_id}"),
        "collection": link(f"{API}/sites/{row.site_id}/recipients"),
        "deliveries": link(f"{API}/deliveries?recipient={row.recipient_id}"),
        "edit": link(href, "PATCH"),
        "delete": link(href, "DELETE"),
    }
    return RecipientOut(
        links=links,
        **_recipient_fields(row),
        registered_by=_registered_by(row),
    )


def _administer(caller: Caller, site_id: str) -> None:
    if not caller.can_administer(site_id):
        raise Problem(403, "forbidden", "only an admin of the site manages its notifications")


def load_recipient(conn: sa.Connection, caller: Caller, recipient_id: int) -> sa.Row[Any]:
    """A recipient the caller administers: 404 for another site's (or none), 403 for their own site's
    when they are not its admin."""
    row = conn.execute(
        sa.select(notification_recipients).where(RECIPIENT_COLUMNS.recipient_id == recipient_id)
    ).one_or_none()
    if row is None or not caller.can_read(row.site_id):
        raise Problem(404, "not-found", f"no recipient {recipient_id}")
    _administer(caller, row.site_id)
    return row


def _rules(body: RulesIn) -> dict[str, Any]:
    """The rules as stored (and audited)."""
    return {
        "min_severity": body.min_severity,
        "quiet_hours": body.quiet_hours.model_dump() if body.quiet_hours else None,
        "rate_limit": body.rate_limit,
    }


def _duplicate(site_id: str, channel: str) -> Problem:
    return Problem(409, "conflict", f"that address already hears of site {site_id!r} on {channel}")


@router.get(
    f"{API}/sites/{{site_id}}/recipients",
    response_model=Page[RecipientOut],
    summary="Who hears of the site's alerts, on which channel (site admins)",
)
def list_recipients(
    request: Request, site_id: SiteId, caller: CurrentUser, conn: SessionDep, paging: Paging
) -> Response:
    load_site(conn, caller, site_id)
    _administer(caller, site_id)
    query = sa.select(notification_recipients).where(RECIPIENT_COLUMNS.site_id == site_id)
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(RECIPIENT_COLUMNS.recipient_id).offset(paging.offset).limit(paging.limit)
    )
    create = create_link(f"{API}/sites/{site_id}/recipients", RecipientIn, "Add a recipient")
    items = [recipient_resource(r) for r in rows]
    return page(request, items, paging.offset, paging.limit, total, create=create)


@router.post(
    f"{API}/sites/{{site_id}}/recipients",
    response_model=RecipientCreatedOut,
    status_code=201,
    summary="Add a recipient to the site (site admins); a webhook's signing secret is in this answer only",
)
def create_recipient(
    request: Request, site_id: SiteId, body: RecipientIn, caller: CurrentUser, conn: SessionDep
) -> Response:
    load_site(conn, caller, site_id)
    _administer(caller, site_id)
    taken = conn.execute(
        sa.select(RECIPIENT_COLUMNS.recipient_id).where(
            RECIPIENT_COLUMNS.site_id == site_id,
            RECIPIENT_COLUMNS.channel == body.channel,
            RECIPIENT_COLUMNS.address == body.address,
        )
    ).first()
    if taken is not None:
        raise _duplicate(site_id, body.channel)
    secrets: dict[str, str] = {}
    if body.channel == "webhook":
        secrets[WEBHOOK_SECRET_KEY] = new_webhook_secret()
    if body.keys is not None:
        secrets |= {"p256dh": body.keys.p256dh, "auth": body.keys.auth}
    try:
        recipient_id = conn.execute(
            sa.insert(notification_recipients)
            .values(
                site_id=site_id,
                channel=body.channel,
                address=body.address,
                language=body.language,
                time_zone=body.time_zone,
                secrets=secrets,
                kinds=_kinds(body.kinds),
                **_rules(body),
                enabled=True,
                created_at=datetime.now(UTC),
            )
            .returning(RECIPIENT_COLUMNS.recipient_id)
        ).scalar_one()
    except sa.exc.IntegrityError as exc:  # added by someone else a moment ago
        conn.rollback()
        raise _duplicate(site_id, body.channel) from exc
    # Addresses stay out of the audit log: a webhook URL often carries its receiver's credentials.
    audit.record(
        conn,
        caller,
        "recipient.create",
        f"recipient:{recipient_id}",
        site_id=site_id,
        channel=body.channel,
        language=body.language,
        time_zone=body.time_zone,
        kinds=_kinds(body.kinds),
        **_rules(body),
    )
    conn.commit()
    created = recipient_resource(load_recipient(conn, caller, recipient_id))
    out = RecipientCreatedOut(
        **created.model_dump(by_alias=False), webhook_secret=secrets.get(WEBHOOK_SECRET_KEY)
    )
    response = respond(request, out, status=201, etag=False)
    response.headers["Location"] = recipient_href(recipient_id)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(f"{API}/recipients/{{recipient_id}}", response_model=RecipientOut, summary="One recipient")
def get_recipient(
    request: Request, recipient_id: RecipientId, caller: CurrentUser, conn: SessionDep
) -> Response:
    return respond(request, recipient_resource(load_recipient(conn, caller, recipient_id)))


@router.patch(
    f"{API}/recipients/{{recipient_id}}",
    response_model=RecipientOut,
    summary="Switch a recipient off or on, or change its language, time zone, kinds, rules or address",
)
def patch_recipient(
    request: Request, recipient_id: RecipientId, body: RecipientPatch, caller: CurrentUser, conn: SessionDep
) -> Response:
    row = load_recipient(conn, caller, recipient_id)
    require_match(request, recipient_resource(row))
    values: dict[str, Any] = body.model_dump(include={"enabled", "language", "time_zone"}, exclude_none=True)
    changes: dict[str, Any] = dict(values)
    if body.kinds is not None:
        values["kinds"] = changes["kinds"] = _kinds(body.kinds)
    if body.min_severity is not None:
        values["min_severity"] = changes["min_severity"] = body.min_severity
    if "quiet_hours" in body.model_fields_set:  # null switches them off
        quiet = body.quiet_hours.model_dump() if body.quiet_hours else None
        values["quiet_hours"] = changes["quiet_hours"] = quiet
    if "rate_limit" in body.model_fields_set:
        values["rate_limit"] = changes["rate_limit"] = body.rate_limit
    if body.keys is not None and row.channel != "webpush":
        raise Problem(422, "invalid-request", "only a webpush recipient has keys")
    if body.address is not None and body.address != row.address:
        try:
            check_address(row.channel, body.address)
        except ValueError as exc:
            raise Problem(422, "invalid-request", str(exc)) from exc
        values["address"] = body.address
        changes["address_changed"] = True
    if body.keys is not None:
        stored = dict(row.secrets) if isinstance(row.secrets, dict) else {}
        values["secrets"] = stored | {"p256dh": body.keys.p256dh, "auth": body.keys.auth}
        changes["keys_changed"] = True
    if values:
        try:
            conn.execute(
                sa.update(notification_recipients)
                .where(RECIPIENT_COLUMNS.recipient_id == recipient_id)
                .values(**values)
            )
        except sa.exc.IntegrityError as exc:
            conn.rollback()
            raise _duplicate(row.site_id, row.channel) from exc
    audit.record(
        conn, caller, "recipient.update", f"recipient:{recipient_id}", site_id=row.site_id, changes=changes
    )
    conn.commit()
    return respond(request, recipient_resource(load_recipient(conn, caller, recipient_id)))


@router.delete(
    f"{API}/recipients/{{recipient_id}}",
    status_code=204,
    summary="Remove a recipient, and the record of its deliveries",
)
def delete_recipient(recipient_id: RecipientId, caller: CurrentUser, conn: SessionDep) -> Response:
    row = load_recipient(conn, caller, recipient_id)
    conn.execute(sa.delete(deliveries).where(deliveries.c.recipient_id == recipient_id))
    conn.execute(sa.delete(notification_recipients).where(RECIPIENT_COLUMNS.recipient_id == recipient_id))
    audit.record(
        conn,
        caller,
        "recipient.delete",
        f"recipient:{recipient_id}",
        site_id=row.site_id,
        channel=row.channel,
    )
    conn.commit()
    return Response(status_code=204)


# --- Deliveries ---


def _deliveries_query() -> sa.Select[Any]:
    """Deliveries with their recipient's site and, once the database writer has recorded the alert, its id
    here (the notifier and the writer read the alerts stream each on its own)."""
    return (
        sa.select(
            deliveries,
            RECIPIENT_COLUMNS.site_id,
            alerts.c.alert_id,
        )
        .join_from(
            deliveries,
            notification_recipients,
            RECIPIENT_COLUMNS.recipient_id == deliveries.c.recipient_id,
        )
        .outerjoin(alerts, alerts.c.alert_key == deliveries.c.alert_key)
    )


def delivery_fields(row: sa.Row[Any]) -> dict[str, Any]:
    href = f"{API}/deliveries/{row.delivery_id}"
    links: dict[str, Link] = {
        "self": link(href),
        "site": link(f"{API}/sites/{row.site_id}"),
        "recipient": link(recipient_href(row.recipient_id)),
    }
    if row.alert_id is not None:
        links["alert"] = link(f"{API}/alerts/{row.alert_id}")
    if row.status == DEAD:
        links["retry"] = link(f"{href}/retry", "POST", "Try it again (after fixing the receiver)")
    return {
        "links": links,
        "delivery_id": row.delivery_id,
        "site_id": row.site_id,
        "alert_key": row.alert_key,
        "alert_id": row.alert_id,
        "transition": row.transition,
        "channel": row.channel,
        "recipient_id": row.recipient_id,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": _aware(row.created_at) or row.created_at,
        "sent_at": _aware(row.sent_at),
    }


def load_delivery(conn: sa.Connection, caller: Caller, delivery_id: UUID) -> sa.Row[Any]:
    row = conn.execute(_deliveries_query().where(deliveries.c.delivery_id == str(delivery_id))).one_or_none()
    if row is None or not caller.can_read(row.site_id):
        raise Problem(404, "not-found", f"no delivery {delivery_id}")
    _administer(caller, row.site_id)
    return row


@router.get(
    f"{API}/deliveries",
    response_model=Page[DeliveryOut],
    summary="Deliveries of notifications to the recipients of your sites, newest first (admins)",
)
def list_deliveries(
    request: Request,
    caller: CurrentUser,
    conn: SessionDep,
    paging: Paging,
    status: Annotated[DeliveryStatus | None, Query(description="Only deliveries in this state")] = None,
    site: Annotated[str | None, Query(pattern=SLUG)] = None,
    recipient: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only to this recipient")] = None,
) -> Response:
    query = _deliveries_query()
    if site is not None:
        require_site(caller, site)
        query = query.where(RECIPIENT_COLUMNS.site_id == site)
    if caller.role != Role.ADMIN:
        raise Problem(403, "forbidden", "only admins read deliveries")
    visible = caller.visible_sites()
    if visible is not None:
        query = query.where(RECIPIENT_COLUMNS.site_id.in_(sorted(visible)))
    if status is not None:
        query = query.where(deliveries.c.status == status)
    if recipient is not None:
        query = query.where(deliveries.c.recipient_id == recipient)
    total = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(deliveries.c.created_at.desc(), deliveries.c.delivery_id.desc())
        .offset(paging.offset)
        .limit(paging.limit)
    )
    items = [DeliveryOut(**delivery_fields(r)) for r in rows]
    return page(request, items, paging.offset, paging.limit, total)


@router.get(f"{API}/deliveries/{{delivery_id}}", response_model=DeliveryOut, summary="One delivery")
def get_delivery(
    request: Request, delivery_id: DeliveryId, caller: CurrentUser, conn: SessionDep
) -> Response:
    return respond(request, DeliveryOut(**delivery_fields(load_delivery(conn, caller, delivery_id))))


def _announce_retry(state: AppState, delivery_id: str, caller: Caller) -> bool:
    """Whether the running notifier was told (on its `delivery_retries` stream) to send the delivery now.
    The database already says it is pending, and the notifier submits every pending delivery when it
    starts, so a queue that cannot be reached is logged and reported, not raised."""
    if state.queue is None:
        return False
    message = DeliveryRetry(
        delivery_ids=[delivery_id], at=datetime.now(UTC), by_user=caller.user_id, via="api"
    )
    try:
        from_thread.run(append, state.queue, state.streams.delivery_retries, message)
    except Exception:
        log.exception("delivery %s is pending again but the queue did not take the retry", delivery_id)
        return False
    return True


@router.post(
    f"{API}/deliveries/{{delivery_id}}/retry",
    response_model=RetriedOut,
    status_code=202,
    summary="Try a dead delivery again, with its attempts reset (admins of its site)",
)
def retry_delivery(
    request: Request, delivery_id: DeliveryId, caller: CurrentUser, conn: SessionDep, state: StateDep
) -> Response:
    row = load_delivery(conn, caller, delivery_id)
    if row.status != DEAD or not revive(conn, [row.delivery_id]):
        conn.rollback()
        raise Problem(409, "conflict", f"the delivery is {row.status}; only a dead one is retried")
    audit.record(
        conn,
        caller,
        "delivery.retry",
        f"delivery:{row.delivery_id}",
        site_id=row.site_id,
        channel=row.channel,
        recipient_id=row.recipient_id,
        attempts_before=row.attempts,
    )
    conn.commit()
    queued = _announce_retry(state, row.delivery_id, caller)
    revived = load_delivery(conn, caller, delivery_id)
    return respond(request, RetriedOut(**delivery_fields(revived), queued=queued), status=202, etag=False)


# --- The signed-in user's own devices ---


def _device_href(channel: str, recipient_id: int) -> str:
    collection = "push-subscriptions" if channel == "webpush" else "fcm-tokens"
    return f"{API}/me/{collection}/{recipient_id}"


def _recipient_fields(row: sa.Row[Any]) -> dict[str, Any]:
    """What a recipient and a user's own device show alike."""
    return {
        "recipient_id": row.recipient_id,
        "site_id": row.site_id,
        "channel": row.channel,
        "address": row.address,
        "language": row.language,
        "time_zone": row.time_zone,
        "kinds": [str(k) for k in row.kinds] if isinstance(row.kinds, list) else [],
        "min_severity": str(row.min_severity or "info"),
        "quiet_hours": stored_quiet_hours(row),
        "rate_limit": row.rate_limit,
        "enabled": bool(row.enabled),
        "created_at": _aware(row.created_at) or row.created_at,
    }


def device_resource(row: sa.Row[Any]) -> DeviceOut:
    href = _device_href(row.channel, row.recipient_id)
    return DeviceOut(
        links={
            "self": link(href),
            "site": link(f"{API}/sites/{row.site_id}"),
            "unregister": link(href, "DELETE"),
        },
        **_recipient_fields(row),
    )


def load_device(conn: sa.Connection, caller: Caller, channel: str, recipient_id: int) -> sa.Row[Any]:
    """One of the caller's own devices on `channel`, at a site they still see; anything else is 404."""
    row = conn.execute(
        sa.select(notification_recipients).where(
            RECIPIENT_COLUMNS.recipient_id == recipient_id, RECIPIENT_COLUMNS.channel == channel
        )
    ).one_or_none()
    if row is None or _registered_by(row) != caller.user_id or not caller.can_read(row.site_id):
        raise Problem(404, "not-found", f"you have no such device {recipient_id}")
    return row


def register_device(
    request: Request,
    conn: sa.Connection,
    caller: Caller,
    *,
    channel: str,
    site_id: str,
    address: str,
    keys: dict[str, str],
    language: str,
    time_zone: str,
    kinds: list[str],
    rules: dict[str, Any],
) -> Response:
    """Store the device as a recipient of the site, or refresh it when it is there already.

    Browsers and apps send their subscription again whenever they start, and may be handed new keys:
    the same address at the same site is the same device, now registered by this caller (only its
    holder knows an endpoint or a token), switched back on, with the keys and preferences sent.
    """
    load_site(conn, caller, site_id)
    secrets = keys | {REGISTERED_BY: str(caller.user_id)}
    values = {
        "language": language,
        "time_zone": time_zone,
        "kinds": kinds,
        **rules,
        "secrets": secrets,
        "enabled": True,
    }
    existing = conn.execute(
        sa.select(RECIPIENT_COLUMNS.recipient_id).where(
            RECIPIENT_COLUMNS.site_id == site_id,
            RECIPIENT_COLUMNS.channel == channel,
            RECIPIENT_COLUMNS.address == address,
        )
    ).scalar()
    try:
        if existing is not None:
            recipient_id = int(existing)
            conn.execute(
                sa.update(notification_recipients)
                .where(RECIPIENT_COLUMNS.recipient_id == recipient_id)
                .values(**values)
            )
        else:
            recipient_id = conn.execute(
                sa.insert(notification_recipients)
                .values(
                    site_id=site_id,
                    channel=channel,
                    address=address,
                    created_at=datetime.now(UTC),
                    **values,
                )
                .returning(RECIPIENT_COLUMNS.recipient_id)
            ).scalar_one()
    except sa.exc.IntegrityError as exc:  # the same device registered twice at the same moment
        conn.rollback()
        raise Problem(409, "conflict", "this device is being registered already; send it again") from exc
    audit.record(
        conn,
        caller,
        "device.register",
        f"recipient:{recipient_id}",
        site_id=site_id,
        channel=channel,
        renewed=existing is not None,
    )
    conn.commit()
    created = existing is None
    row = load_device(conn, caller, channel, recipient_id)
    response = respond(request, device_resource(row), status=201 if created else 200, etag=False)
    response.headers["Location"] = _device_href(channel, recipient_id)
    return response


def unregister_device(conn: sa.Connection, caller: Caller, channel: str, recipient_id: int) -> Response:
    row = load_device(conn, caller, channel, recipient_id)
    conn.execute(sa.delete(deliveries).where(deliveries.c.recipient_id == recipient_id))
    conn.execute(sa.delete(notification_recipients).where(RECIPIENT_COLUMNS.recipient_id == recipient_id))
    audit.record(
        conn, caller, "device.unregister", f"recipient:{recipient_id}", site_id=row.site_id, channel=channel
    )
    conn.commit()
    return Response(status_code=204)


DEVICE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": DeviceOut, "description": "The device was registered already: it is refreshed"}
}


@router.post(
    f"{API}/me/push-subscriptions",
    response_model=DeviceOut,
    status_code=201,
    responses=DEVICE_RESPONSES,
    summary="Register this browser's Web Push subscription for one of your sites",
)
def register_push_subscription(
    request: Request, body: PushSubscriptionIn, caller: CurrentUser, conn: SessionDep
) -> Response:
    return register_device(
        request,
        conn,
        caller,
        channel="webpush",
        site_id=body.site_id,
        address=body.endpoint,
        keys={"p256dh": body.keys.p256dh, "auth": body.keys.auth},
        language=body.language,
        time_zone=body.time_zone,
        kinds=_kinds(body.kinds),
        rules=_rules(body),
    )


@router.get(
    f"{API}/me/push-subscriptions",
    response_model=Page[DeviceOut],
    summary="Your Web Push subscriptions, at the sites you still see; `endpoint` picks this browser's",
)
def list_push_subscriptions(
    request: Request,
    caller: CurrentUser,
    conn: SessionDep,
    paging: Paging,
    endpoint: Annotated[
        str | None, Query(max_length=2000, description="Only this subscription's (this browser's)")
    ] = None,
) -> Response:
    # Who registered a device is kept in its secrets (a JSON column read alike on every backend), so the
    # caller's own are picked here; a user has a few browsers, not thousands.
    query = sa.select(notification_recipients).where(RECIPIENT_COLUMNS.channel == "webpush")
    if endpoint is not None:
        query = query.where(RECIPIENT_COLUMNS.address == endpoint)
    visible = caller.visible_sites()
    if visible is not None:
        query = query.where(RECIPIENT_COLUMNS.site_id.in_(sorted(visible)))
    rows = conn.execute(query.order_by(RECIPIENT_COLUMNS.recipient_id))
    mine = [r for r in rows if _registered_by(r) == caller.user_id]
    items = [device_resource(r) for r in mine[paging.offset : paging.offset + paging.limit]]
    create = create_link(f"{API}/me/push-subscriptions", PushSubscriptionIn, "Register this browser")
    return page(request, items, paging.offset, paging.limit, len(mine), create=create)


@router.get(
    f"{API}/me/push-subscriptions/{{recipient_id}}",
    response_model=DeviceOut,
    summary="One of your Web Push subscriptions",
)
def get_push_subscription(
    request: Request, recipient_id: RecipientId, caller: CurrentUser, conn: SessionDep
) -> Response:
    return respond(request, device_resource(load_device(conn, caller, "webpush", recipient_id)))


@router.delete(
    f"{API}/me/push-subscriptions/{{recipient_id}}",
    status_code=204,
    summary="Remove one of your Web Push subscriptions (after `unsubscribe()` in the browser)",
)
def delete_push_subscription(recipient_id: RecipientId, caller: CurrentUser, conn: SessionDep) -> Response:
    return unregister_device(conn, caller, "webpush", recipient_id)


@router.post(
    f"{API}/me/fcm-tokens",
    response_model=DeviceOut,
    status_code=201,
    responses=DEVICE_RESPONSES,
    summary="Register this phone's FCM registration token for one of your sites",
)
def register_fcm_token(request: Request, body: FcmTokenIn, caller: CurrentUser, conn: SessionDep) -> Response:
    return register_device(
        request,
        conn,
        caller,
        channel="fcm",
        site_id=body.site_id,
        address=body.token,
        keys={},
        language=body.language,
        time_zone=body.time_zone,
        kinds=_kinds(body.kinds),
        rules=_rules(body),
    )


@router.get(
    f"{API}/me/fcm-tokens/{{recipient_id}}", response_model=DeviceOut, summary="One of your FCM tokens"
)
def get_fcm_token(
    request: Request, recipient_id: RecipientId, caller: CurrentUser, conn: SessionDep
) -> Response:
    return respond(request, device_resource(load_device(conn, caller, "fcm", recipient_id)))


@router.delete(
    f"{API}/me/fcm-tokens/{{recipient_id}}", status_code=204, summary="Remove one of your FCM tokens"
)
def delete_fcm_token(recipient_id: RecipientId, caller: CurrentUser, conn: SessionDep) -> Response:
    return unregister_device(conn, caller, "fcm", recipient_id)


def application_server_key(conn: sa.Connection, state: AppState) -> str:
    """The VAPID public key the notifier signs for: from the key its settings name, or else the stored
    one, made now if no process has made it yet."""
    if state.vapid_private_key is not None:
        return vapid_public_key(state.vapid_private_key.get_secret_value())
    private = server_keys.get_or_create(conn, VAPID_KEY_NAME, lambda: generate_vapid_keys()[0])
    conn.commit()
    return vapid_public_key(private)


@router.get(
    f"{API}/push/vapid-public-key",
    response_model=VapidKeyOut,
    summary="The server's VAPID public key, which a browser needs to subscribe to Web Push",
)
def get_vapid_public_key(
    request: Request, caller: CurrentUser, conn: SessionDep, state: StateDep
) -> Response:
    key = VapidKeyOut(
        links={
            "self": link(f"{API}/push/vapid-public-key"),
            "push_subscriptions": link(f"{API}/me/push-subscriptions", "POST", "Register the subscription"),
        },
        application_server_key=application_server_key(conn, state),
    )
    return respond(request, key)
