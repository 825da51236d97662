"""`maskwatch broker acl`: write the Mosquitto ACL from the topic declarations, or check it is current.

The ACL is generated (`maskwatch.broker_acl`) so a new topic cannot reach the
code without reaching the broker; `--check` lets CI or an operator notice a
deployed file that predates a topic change before gates stop receiving it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from maskwatch.broker_acl import SERVER_USER, render_acl
from maskwatch.topics import DEFAULT_ROOT, Topics


def acl_command(
    output: Annotated[
        Path | None, typer.Option("--output", help="Write the ACL here instead of printing it.")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when the file at --output differs; write nothing.")
    ] = False,
    topic_root: Annotated[str, typer.Option(help="The topic root the services use.")] = DEFAULT_ROOT,
    server_user: Annotated[str, typer.Option(help="The services' shared broker account.")] = SERVER_USER,
) -> None:
    """Generate the broker ACL: the server account sees the whole root, each gate only its own topics."""
    try:
        acl = render_acl(Topics(topic_root), server_user=server_user)
    except ValueError as exc:
        typer.echo(f"cannot generate the ACL: {exc}", err=True)
        raise typer.Exit(2) from exc
    if check:
        if output is None:
            typer.echo("--check needs --output, the ACL file to compare", err=True)
            raise typer.Exit(2)
        current = output.read_text() if output.is_file() else None
        if current != acl:
            state = "is missing" if current is None else "differs from the topic declarations"
            typer.echo(
                f"{output} {state}; regenerate it with `maskwatch broker acl --output {output}` "
                "and reload the broker (SIGHUP)",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(f"{output} is up to date")
        return
    if output is None:
        typer.echo(acl, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(acl)
    typer.echo(f"wrote {output}; reload the broker (SIGHUP) to apply it", err=True)
