"""Command-line entry points of the API: create a user (the first admin), run the server."""

from __future__ import annotations

from typing import Annotated

import typer

from services.api.security import Role


def plausible_email(email: str) -> str:
    """Refuse, before the password is asked for, what the API would refuse as a new user's e-mail.

    The rule is the API's own (UserIn), so an account made here can be made there and the other way.
    """
    from pydantic import TypeAdapter, ValidationError

    from services.api.routes.users import UserIn

    try:
        TypeAdapter(Annotated[str, UserIn.model_fields["email"]]).validate_python(email)
    except ValidationError as exc:
        typer.echo(
            f"{email!r} is not an e-mail address: give the address the user signs in with, "
            "such as admin@example.org",
            err=True,
        )
        raise typer.Exit(2) from exc
    return email


def user_add_command(
    email: Annotated[
        str, typer.Argument(help="The user's email, used to sign in.", callback=plausible_email)
    ],
    role: Annotated[Role, typer.Option(help="admin, operator or viewer.")] = Role.ADMIN,
    site: Annotated[
        list[str] | None, typer.Option(help="A site the user may see (repeat); none means every site.")
    ] = None,
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="At least 12 characters."),
    ] = "",
) -> None:
    """Create a user; `maskwatch user add admin@example.org` creates the first admin."""
    from maskwatch.database.engine import create_engine, migrate
    from services.api import audit
    from services.api.accounts import create_account, unknown_sites
    from stack.cli import load_settings_or_exit

    if len(password) < 12:
        typer.echo("the password needs at least 12 characters", err=True)
        raise typer.Exit(2)
    settings = load_settings_or_exit()
    migrate(settings.database.url)
    engine = create_engine(settings.database.url)
    sites = site or []
    try:
        with engine.begin() as conn:
            missing = unknown_sites(conn, sites)
            if missing:
                typer.echo(f"no such sites: {', '.join(missing)}", err=True)
                raise typer.Exit(2)
            try:
                user_id = create_account(conn, email, password, role, all_sites=not sites, site_ids=sites)
            except ValueError as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(1) from exc
            audit.record(
                conn, None, "user.create", f"user:{user_id}", via="cli", role=role.value, sites=sites
            )
    finally:
        engine.dispose()
    scope = "every site" if not sites else ", ".join(sites)
    typer.echo(f"user {user_id} ({email}, {role.value}) created for {scope}")


def api_command(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: settings, 8000).")] = None,
) -> None:
    """Run the admin API (and its /metrics) with uvicorn."""
    import uvicorn

    from maskwatch.database.engine import migrate
    from maskwatch.queue import open_queue
    from stack.cli import load_settings_or_exit, require_free_ports
    from stack.preflight import api_listener
    from stack.service_table import build_api_app

    settings = load_settings_or_exit()
    require_free_ports([api_listener(host or settings.api.host, port or settings.api.port)])
    migrate(settings.database.url)
    # An in-process queue here would reach no other service: without a shared one, alerts
    # acknowledged or resolved by hand are only recorded in the database.
    queue = (
        None
        if settings.queue.url.startswith("memory://")
        else open_queue(settings.queue.url, claim_idle_ms=settings.queue.claim_idle_ms)
    )
    app = build_api_app(settings, queue)
    # The API believes X-Forwarded-* only from MASKWATCH_API__TRUSTED_PROXIES (services/api/proxies.py);
    # uvicorn's own handling would trust 127.0.0.1 and hide the peer address from it.
    uvicorn.run(app, host=host or settings.api.host, port=port or settings.api.port, proxy_headers=False)
