"""Entry rules per site and per gate: the fever threshold, and whether a missing mask or a fever denies
entry, only records the problem, or is not checked.

Each resource shows the rules in force (`effective`), what the console set for this site or gate
(`overrides`) and what it would follow without them (`inherited`, from the settings file and, for a
gate, its site). An admin of the site replaces the overrides with PUT; the gate controller applies a
change within its directory refresh (seconds), without a restart. Every change is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request, Response
from pydantic import ValidationError

from maskwatch.database import entry_rules as stored_rules
from maskwatch.database.entry_rules import Scope
from maskwatch.database.schema import gates, sites
from maskwatch.entry_rules import PolicyConfig, RuleOverrides, RuleSet, StoredRules
from services.api import audit
from services.api.deps import CurrentUser, SessionDep, StateDep, require_site
from services.api.hal import Link, Resource, link, require_match, respond, schema_ref
from services.api.paging import API
from services.api.problems import PROBLEM_RESPONSES, Problem
from services.api.security import Caller

router = APIRouter(prefix=API, tags=["rules"], responses=PROBLEM_RESPONSES)
SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"
GATE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class RulesOut(Resource):
    scope: Scope
    subject_id: str
    site_id: str
    effective: RuleSet
    """What the gate (or every gate of the site without its own exceptions) applies now."""
    overrides: RuleOverrides
    """What admins set here from the console; the fields left out are inherited."""
    inherited: RuleSet
    """What would apply without this site's or gate's console overrides."""


def _site_exists(conn: sa.Connection, caller: Caller, site_id: str) -> None:
    require_site(caller, site_id)
    if conn.execute(sa.select(sites.c.site_id).where(sites.c.site_id == site_id)).first() is None:
        raise Problem(404, "not-found", f"no site {site_id!r}")


def _site_of_gate(conn: sa.Connection, caller: Caller, gate_id: str) -> str:
    site_id = conn.execute(sa.select(gates.c.site_id).where(gates.c.gate_id == gate_id)).scalar()
    if site_id is None or not caller.can_read(site_id):
        raise Problem(404, "not-found", f"no gate {gate_id!r}")
    return str(site_id)


def _without(stored: StoredRules, scope: Scope, subject_id: str) -> StoredRules:
    """The stored rules as if `subject_id` had none of its own."""
    site_rules = {k: v for k, v in stored.sites.items() if not (scope is Scope.SITE and k == subject_id)}
    gate_rules = {k: v for k, v in stored.gates.items() if not (scope is Scope.GATE and k == subject_id)}
    return StoredRules(sites=site_rules, gates=gate_rules)


def _rules_resource(
    policy: PolicyConfig, stored: StoredRules, scope: Scope, subject_id: str, site_id: str, caller: Caller
) -> RulesOut:
    own = stored.sites.get(subject_id, {}) if scope is Scope.SITE else stored.gates.get(subject_id, {})
    others = _without(stored, scope, subject_id)
    if scope is Scope.SITE:
        effective, inherited = policy.for_site(site_id, stored), policy.for_site(site_id, others)
        href, owner = f"{API}/sites/{site_id}/rules", link(f"{API}/sites/{site_id}")
    else:
        effective = policy.for_gate(subject_id, site_id, stored)
        inherited = policy.for_gate(subject_id, site_id, others)
        href, owner = f"{API}/gates/{subject_id}/rules", link(f"{API}/gates/{subject_id}")
    links = {"self": link(href), scope.value: owner}
    if scope is Scope.GATE:
        links["site_rules"] = link(f"{API}/sites/{site_id}/rules")
    if caller.can_administer(site_id):
        links["edit"] = Link(
            href=href, method="PUT", title="Replace the overrides", body_schema=schema_ref(RuleOverrides)
        )
    return RulesOut(
        links=links,
        scope=scope,
        subject_id=subject_id,
        site_id=site_id,
        effective=effective,
        overrides=RuleOverrides.model_validate(own),
        inherited=inherited,
    )


def _check_consistent(conn: sa.Connection, policy: PolicyConfig, stored: StoredRules, site_id: str) -> None:
    """Refuse overrides that would leave the site, or any of its gates, with contradictory rules (a
    plausible range that is empty, say): the gate controller must always have rules it can apply."""
    try:
        policy.for_site(site_id, stored)
        for gate_id in conn.execute(sa.select(gates.c.gate_id).where(gates.c.site_id == site_id)).scalars():
            policy.for_gate(gate_id, site_id, stored)
    except ValidationError as exc:
        detail = "; ".join(str(error["msg"]) for error in exc.errors())
        raise Problem(422, "invalid-rules", f"these rules contradict the ones inherited: {detail}") from exc


def _replace(
    request: Request,
    conn: sa.Connection,
    caller: Caller,
    policy: PolicyConfig,
    scope: Scope,
    subject_id: str,
    site_id: str,
    body: RuleOverrides,
) -> Response:
    if not caller.can_administer(site_id):
        raise Problem(403, "forbidden", "only an admin of this site may change its rules")
    before = stored_rules.load_all(conn)
    require_match(request, _rules_resource(policy, before, scope, subject_id, site_id, caller))
    after = _without(before, scope, subject_id)
    target: dict[str, dict[str, Any]] = after.sites if scope is Scope.SITE else after.gates
    if body.named():
        target[subject_id] = body.named()
    _check_consistent(conn, policy, after, site_id)
    previous = (before.sites if scope is Scope.SITE else before.gates).get(subject_id, {})
    stored_rules.store(conn, scope, subject_id, body.named(), user_id=caller.user_id)
    audit.record(
        conn,
        caller,
        f"{scope.value}.rules",
        f"{scope.value}:{subject_id}",
        site_id=site_id,
        before=previous,
        after=body.named(),
    )
    conn.commit()
    return respond(request, _rules_resource(policy, after, scope, subject_id, site_id, caller))


SiteId = Annotated[str, Path(pattern=SLUG)]
GateId = Annotated[str, Path(pattern=GATE_ID)]


@router.get("/sites/{site_id}/rules", response_model=RulesOut, summary="The entry rules of a site")
def get_site_rules(
    request: Request, site_id: SiteId, caller: CurrentUser, conn: SessionDep, state: StateDep
) -> Response:
    _site_exists(conn, caller, site_id)
    stored = stored_rules.load_all(conn)
    return respond(request, _rules_resource(state.policy, stored, Scope.SITE, site_id, site_id, caller))


@router.put(
    "/sites/{site_id}/rules",
    response_model=RulesOut,
    summary="Set a site's entry rules (admins of the site); fields left out are inherited",
)
def put_site_rules(
    request: Request,
    site_id: SiteId,
    body: RuleOverrides,
    caller: CurrentUser,
    conn: SessionDep,
    state: StateDep,
) -> Response:
    _site_exists(conn, caller, site_id)
    return _replace(request, conn, caller, state.policy, Scope.SITE, site_id, site_id, body)


@router.get("/gates/{gate_id}/rules", response_model=RulesOut, summary="The entry rules of a gate")
def get_gate_rules(
    request: Request, gate_id: GateId, caller: CurrentUser, conn: SessionDep, state: StateDep
) -> Response:
    site_id = _site_of_gate(conn, caller, gate_id)
    stored = stored_rules.load_all(conn)
    return respond(request, _rules_resource(state.policy, stored, Scope.GATE, gate_id, site_id, caller))


@router.put(
    "/gates/{gate_id}/rules",
    response_model=RulesOut,
    summary="Set a gate's own entry rules (admins of its site); fields left out follow the site",
)
def put_gate_rules(
    request: Request,
    gate_id: GateId,
    body: RuleOverrides,
    caller: CurrentUser,
    conn: SessionDep,
    state: StateDep,
) -> Response:
    site_id = _site_of_gate(conn, caller, gate_id)
    return _replace(request, conn, caller, state.policy, Scope.GATE, gate_id, site_id, body)
