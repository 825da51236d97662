"""The statistics tables (SQLAlchemy Core). Alembic migrations in `migrations/` create them.

Reasons live in their own table, one row per (check, reason), so "denied by
reason" is a plain indexed GROUP BY in SQL and in Grafana.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

checks = sa.Table(
    "checks",
    metadata,
    sa.Column("check_id", sa.Uuid, primary_key=True),
    sa.Column("gate_id", sa.String(64), nullable=False),
    sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decision", sa.String(8), nullable=False),
    sa.Column("offline_decision", sa.String(8), nullable=True),
    sa.Column("message", sa.String(200), nullable=False),
    sa.Column("temperature_c", sa.Float, nullable=True),
    sa.Column("face_count", sa.SmallInteger, nullable=False),
    sa.Column("mask_label", sa.String(16), nullable=True),
    sa.Column("total_ms", sa.Float, nullable=False),
    sa.Column("model_ms", sa.Float, nullable=False),
    sa.Index("ix_checks_decided_at", "decided_at"),
    sa.Index("ix_checks_gate_decided_at", "gate_id", "decided_at"),
)

check_reasons = sa.Table(
    "check_reasons",
    metadata,
    sa.Column("check_id", sa.Uuid, sa.ForeignKey("checks.check_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("reason", sa.String(32), primary_key=True),
    sa.Column("enforced", sa.Boolean, nullable=False),
    sa.Index("ix_check_reasons_reason", "reason"),
)

rejections = sa.Table(
    "rejections",
    metadata,
    sa.Column("rejection_id", sa.Uuid, primary_key=True),
    sa.Column("gate_id", sa.String(200), nullable=False),
    sa.Column("check_id", sa.Uuid, nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("detail", sa.String(1000), nullable=False),
    sa.Column("topic", sa.String(400), nullable=False),
    sa.Index("ix_rejections_received_at", "received_at"),
)

# --- Sites, devices, accounts, alerts, audit and the hourly roll-up (migration 0002) ---

DEFAULT_SITE = "default"
"""The site of every gate that was never registered: figures LEFT JOIN checks to gates and use this."""

sites = sa.Table(
    "sites",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

gates = sa.Table(
    "gates",
    metadata,
    sa.Column("gate_id", sa.String(64), primary_key=True),
    sa.Column("site_id", sa.String(64), sa.ForeignKey("sites.site_id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Migration 0009: when an admin revoked its broker account (None: it may sign in).
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_gates_site", "site_id"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("all_sites", sa.Boolean, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

user_sites = sa.Table(
    "user_sites",
    metadata,
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("site_id", sa.String(64), sa.ForeignKey("sites.site_id", ondelete="CASCADE"), primary_key=True),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_api_tokens_user", "user_id"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("alert_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("site_id", sa.String(64), sa.ForeignKey("sites.site_id"), nullable=False),
    sa.Column("device_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column(
        "acknowledged_by", sa.Integer, sa.ForeignKey("users.user_id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("details", sa.JSON, nullable=False),
    # Migration 0004: the lifecycle of alerts raised by the services.
    # alert_key: the raiser's id for the alert (AlertTransition.alert_id), so a repeat is recognised.
    sa.Column("alert_key", sa.String(36), nullable=True, unique=True),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("resolved_by", sa.Integer, sa.ForeignKey("users.user_id", ondelete="SET NULL"), nullable=True),
    sa.Column("resolution", sa.String(16), nullable=True),
    sa.Column("snapshot", sa.String(200), nullable=True),
    sa.Column("crop", sa.String(200), nullable=True),
    sa.Index("ix_alerts_site_opened", "site_id", "opened_at"),
)

cameras = sa.Table(
    "cameras",
    metadata,
    sa.Column("camera_id", sa.String(64), primary_key=True),
    sa.Column("site_id", sa.String(64), sa.ForeignKey("sites.site_id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    # Set for an IP camera the server reads itself; None for a camera agent that publishes frames.
    sa.Column("rtsp_url", sa.String(1000), nullable=True),
    # The camera's monitoring settings (services.monitoring.settings.CameraSettings, as JSON).
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Migration 0005: when its latest frame was analysed (written at most every few seconds).
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
    # Migration 0009: when an admin revoked its broker account (None: it may sign in).
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_cameras_site", "site_id"),
)

device_status = sa.Table(
    "device_status",
    metadata,
    # Migration 0009: the latest retained status of each gate or camera, as the device health service
    # heard it (registered or not; the API shows it on the device's resource).
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("online", sa.Boolean, nullable=False),
    sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("software_version", sa.String(64), nullable=True),
    sa.Column("config_version", sa.String(64), nullable=True),
    sa.Column("sensors", sa.JSON, nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.user_id", ondelete="SET NULL"), nullable=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("site_id", sa.String(64), nullable=True),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Index("ix_audit_log_at", "at"),
)


# --- Notifications (migration 0006) ---

notification_recipients = sa.Table(
    "notification_recipients",
    metadata,
    sa.Column("recipient_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("site_id", sa.String(64), sa.ForeignKey("sites.site_id"), nullable=False),
    # webhook, email, sns, fcm or webpush; the address is that channel's (URL, e-mail, ARN, token…).
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("address", sa.String(2000), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("time_zone", sa.String(64), nullable=False),
    # Per channel: a webhook's signing secret, a Web Push subscription's keys.
    sa.Column("secrets", sa.JSON, nullable=False),
    # The alert kinds this recipient hears of; empty means every kind.
    sa.Column("kinds", sa.JSON, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Migration 0008: the least severity heard (info, warning, critical), quiet hours as
    # {"start": "HH:MM", "end": "HH:MM"} in the recipient's zone, a rate limit such as "5/10min"
    # (null: the installation's default).
    sa.Column("min_severity", sa.String(16), nullable=False, server_default="info"),
    sa.Column("quiet_hours", sa.JSON, nullable=True),
    sa.Column("rate_limit", sa.String(32), nullable=True),
    sa.UniqueConstraint("site_id", "channel", "address", name="uq_recipient_address"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("delivery_id", sa.String(36), primary_key=True),
    # alert:transition:channel:recipient — one delivery each, however often the transition arrives.
    sa.Column("delivery_key", sa.String(200), nullable=False, unique=True),
    sa.Column("alert_key", sa.String(36), nullable=False),
    sa.Column("transition", sa.String(16), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column(
        "recipient_id",
        sa.Integer,
        sa.ForeignKey("notification_recipients.recipient_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("notification", sa.JSON, nullable=False),
    # pending → sent, or dead (after the last try, or an address that no longer exists).
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("answer", sa.JSON, nullable=True),
    # An attempt in progress holds the delivery until then, so two workers never send it at once.
    sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    # Held by quiet hours or a rate limit since then (migration 0008): the next message out to the
    # recipient carries it in a digest.
    sa.Column("held_since", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_deliveries_status", "status", "created_at"),
    sa.Index("ix_deliveries_recipient_status", "recipient_id", "status"),
)


def _rollup(name: str, bucket: str) -> sa.Table:
    """A roll-up table: checks counted per time bucket (UTC), gate, decision, reason and enforcement."""
    return sa.Table(
        name,
        metadata,
        sa.Column(bucket, sa.DateTime(timezone=True), primary_key=True),
        sa.Column("gate_id", sa.String(64), primary_key=True),
        sa.Column("decision", sa.String(8), primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("enforced", sa.Boolean, primary_key=True),
        sa.Column("checks", sa.Integer, nullable=False),
    )


check_hourly = _rollup("check_hourly", "hour")
"""Checks per UTC hour, gate and decision (reason ''), and reasons per the same key.

Database triggers created by migration 0002 keep it current on every insert
into `checks` and `check_reasons`, so any writer in any process maintains it;
`figures.rebuild_hourly` recomputes a range after bulk loads or deletions.
"""

# --- The daily roll-up (migration 0003) ---

check_daily = _rollup("check_daily", "day")
"""Checks per UTC day (stored as its midnight), gate and decision (reason ''), and reasons per that key.

The same rows as `check_hourly` summed over the 24 hours of each UTC day. Days
are UTC days, not local ones, so a gate moving to another site or a site
changing its time zone never invalidates a row. Triggers created by migration
0003 keep it current; `figures.rebuild_hourly` recomputes it with the hourly one.
"""

# --- Keys the server makes for itself (migration 0007) ---

server_keys = sa.Table(
    "server_keys",
    metadata,
    # What the key is for, e.g. `vapid_private_key` (maskwatch.notification_keys.VAPID_KEY_NAME).
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
"""Keys made once and then shared by every process, such as the VAPID key pair that browsers' push
subscriptions are bound to: the API hands out its public half and the notifier signs with it."""

# --- Entry rules set from the console (migration 0010) ---

entry_rules = sa.Table(
    "entry_rules",
    metadata,
    # "site" or "gate", and that site's or gate's id: the fields an admin set for it
    # (maskwatch.entry_rules.RuleOverrides, only the ones set), over the settings file's.
    sa.Column("scope", sa.String(8), primary_key=True),
    sa.Column("subject_id", sa.String(64), primary_key=True),
    sa.Column("overrides", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_by", sa.Integer, sa.ForeignKey("users.user_id", ondelete="SET NULL"), nullable=True),
)
