"""The Mosquitto ACL, generated from the topic declarations in `maskwatch.topics`.

A hand-typed ACL drifts from the code: a topic added to `Topics` but not to the
ACL is silently dropped by the broker (Mosquitto reports nothing to either
side). Generating it from each template's `device_access` keeps the two in step;
a test compares the committed `deploy/mosquitto/acl` with this output.

The username of a gate is its gate id (`stack.provisioning`), so a `%u`
pattern confines every gate to its own topics with one line per template.
"""

from __future__ import annotations

from maskwatch.topics import Topics, TopicTemplate

DEVICE_PARAMS = ("gate_id", "camera_id")
"""The template parameters that stand for the device's own id, i.e. its broker username. Gate and
camera ids share one namespace (registration refuses a camera id that is a gate's, and the reverse)."""

SERVER_USER = "maskwatch-server"


def render_acl(topics: Topics, *, server_user: str = SERVER_USER) -> str:
    """A Mosquitto 2 `acl_file` for `topics`: the same input always gives the same text."""
    _check_level_text("topic root", topics.root, is_topic=True)
    _check_level_text("server user", server_user, is_topic=False)
    lines = [
        "# Mosquitto ACL for Maskwatch (acl_file in mosquitto.conf).",
        "# Generated from maskwatch/topics.py by `maskwatch broker acl`; do not edit by hand:",
        "# change the topic declarations and regenerate (`maskwatch broker acl --output <this file>`).",
        "",
        "# Server services share one account and see everything under the topic root. They also read",
        "# $SYS, which the compose healthcheck subscribes to: with an ACL, Mosquitto delivers $SYS",
        "# topics only to accounts granted them.",
        f"user {server_user}",
        f"topic readwrite {topics.root}/#",
        "topic read $SYS/#",
        "",
        "# Each gate and camera signs in with its id as username (%u) and reaches only its own topics.",
        *(f"pattern {template.device_access} {_device_pattern(template)}" for template in topics.templates()),
    ]
    return "\n".join(lines) + "\n"


def _device_pattern(template: TopicTemplate) -> str:
    params = template.params
    if len(params) != 1 or params[0] not in DEVICE_PARAMS:
        raise ValueError(
            f"{template.pattern!r}: a device topic has exactly one of {DEVICE_PARAMS} (made %u), not {params}"
        )
    return f"{template.root}/{template.pattern.format(**{params[0]: '%u'})}"


def _check_level_text(what: str, value: str, *, is_topic: bool) -> None:
    """Refuse what would change the meaning of an ACL line rather than name a topic or a user."""
    if not value or any(c.isspace() or c == "\x00" for c in value):
        raise ValueError(f"{what} {value!r} cannot appear in an ACL line")
    if is_topic and any(c in value for c in "+#%"):
        raise ValueError(f"{what} {value!r} would be a wildcard in the ACL, granting more than intended")
