"""Entry rules per site and gate through the API: who may read and change them, what they resolve to,
contradictions refused, every change audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from maskwatch.database.schema import audit_log
from maskwatch.entry_rules import PolicyConfig
from tests.api.conftest import World, build_world


def test_a_site_admin_sets_the_fever_threshold_and_the_gate_inherits_it(world: World) -> None:
    admin = world.client("admin_a")
    site = admin.get("/api/v1/sites/a/rules")
    assert site.status_code == 200
    body = site.json()
    assert body["effective"]["fever_threshold_c"] == 37.5
    assert body["overrides"] == {k: None for k in body["overrides"]}
    assert body["_links"]["edit"]["method"] == "PUT"
    assert body["_links"]["edit"]["schema"].endswith("/RuleOverrides")

    changed = admin.put("/api/v1/sites/a/rules", json={"fever_threshold_c": 37.8, "mask": "soft"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["effective"]["fever_threshold_c"] == 37.8
    assert changed.json()["inherited"]["fever_threshold_c"] == 37.5

    gate = admin.get("/api/v1/gates/a-1/rules").json()
    assert gate["effective"]["fever_threshold_c"] == 37.8
    assert gate["effective"]["mask"] == "soft"
    assert gate["_links"]["site_rules"]["href"] == "/api/v1/sites/a/rules"

    own = admin.put("/api/v1/gates/a-1/rules", json={"mask": "hard"}).json()
    assert own["effective"] == {**gate["effective"], "mask": "hard"}
    assert own["inherited"]["mask"] == "soft"

    # Clearing a gate's overrides makes it follow its site again.
    cleared = admin.put("/api/v1/gates/a-1/rules", json={}).json()
    assert cleared["effective"]["mask"] == "soft"

    with world.engine.connect() as conn:
        actions = conn.execute(
            sa.select(audit_log.c.action, audit_log.c.target, audit_log.c.details).order_by(
                audit_log.c.audit_id
            )
        ).all()
    changes = [(a, t, d["after"]) for a, t, d in actions if a.endswith(".rules")]
    assert changes == [
        ("site.rules", "site:a", {"fever_threshold_c": 37.8, "mask": "soft"}),
        ("gate.rules", "gate:a-1", {"mask": "hard"}),
        ("gate.rules", "gate:a-1", {}),
    ]


def test_a_site_asks_for_the_mask_over_the_nose(world: World) -> None:
    """Off until a site asks: the probe also refuses some masked visitors."""
    admin = world.client("admin_a")
    assert admin.get("/api/v1/sites/a/rules").json()["effective"]["mask_over_nose"] == "off"
    changed = admin.put("/api/v1/sites/a/rules", json={"mask_over_nose": "hard"})
    assert changed.status_code == 200, changed.text
    assert admin.get("/api/v1/gates/a-1/rules").json()["effective"]["mask_over_nose"] == "hard"
    refused = admin.put("/api/v1/sites/a/rules", json={"mask_over_nose": "always"})
    assert refused.status_code == 422


@pytest.mark.parametrize("who", ["operator_a", "viewer_a"])
def test_only_admins_change_rules_but_every_reader_sees_them(world: World, who: str) -> None:
    client = world.client(who)
    seen = client.get("/api/v1/sites/a/rules")
    assert seen.status_code == 200
    assert "edit" not in seen.json()["_links"]
    assert client.put("/api/v1/sites/a/rules", json={"fever_threshold_c": 39}).status_code == 403
    assert client.put("/api/v1/gates/a-1/rules", json={"mask": "off"}).status_code == 403


def test_another_sites_rules_do_not_exist_for_the_caller(world: World) -> None:
    client = world.client("admin_a")
    assert client.get("/api/v1/sites/b/rules").status_code == 404
    assert client.put("/api/v1/gates/b-1/rules", json={"mask": "off"}).status_code == 404
    assert client.get("/api/v1/gates/no-such-gate/rules").status_code == 404


def test_contradicting_or_unknown_rules_are_refused(world: World) -> None:
    admin = world.client("admin_a")
    assert admin.put("/api/v1/gates/a-1/rules", json={"plausible_min_c": 40}).status_code == 200
    # The site's new maximum would leave gate a-1 with an empty plausible range.
    refused = admin.put("/api/v1/sites/a/rules", json={"plausible_max_c": 39})
    assert refused.status_code == 422
    assert "plausible" in refused.json()["detail"]
    assert admin.get("/api/v1/sites/a/rules").json()["effective"]["plausible_max_c"] == 43.0
    assert admin.put("/api/v1/sites/a/rules", json={"fever_threshold_c": 60}).status_code == 422
    assert admin.put("/api/v1/sites/a/rules", json={"open_gates_for": "everyone"}).status_code == 422
    assert admin.put("/api/v1/sites/a/rules", json={"mask": "sometimes"}).status_code == 422


def test_the_settings_files_rules_show_under_the_consoles(new_postgres, password_hash) -> None:
    policy = PolicyConfig(fever_threshold_c=37.2, sites={"a": {"temperature": "soft"}})
    world = build_world(new_postgres(), password_hash, policy=policy)
    with world.client("admin_a") as admin:
        site = admin.get("/api/v1/sites/a/rules").json()
        assert site["inherited"]["fever_threshold_c"] == 37.2
        assert site["inherited"]["temperature"] == "soft"
        admin.put("/api/v1/sites/a/rules", json={"temperature": "hard"})
        assert admin.get("/api/v1/gates/a-1/rules").json()["effective"]["temperature"] == "hard"
    world.engine.dispose()


def test_an_out_of_date_copy_is_refused(world: World) -> None:
    admin = world.client("admin_a")
    tag = admin.get("/api/v1/sites/a/rules").headers["ETag"]
    admin.put("/api/v1/sites/a/rules", json={"fever_threshold_c": 38})
    stale = admin.put("/api/v1/sites/a/rules", json={"fever_threshold_c": 38.5}, headers={"If-Match": tag})
    assert stale.status_code == 412
