"""`maskwatch dead-letters list|requeue|drop STREAM`: the operator's side of the dead-letter streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from maskwatch.dead_letters import drop, list_dead, requeue
from maskwatch.queue import DeadLetter, QueueUnavailable, WorkQueue, open_queue
from maskwatch.streams import Stream, Streams

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="Entries the services gave up on: list, requeue, drop.")

StreamArgument = Annotated[str, typer.Argument(help="checks | analyses | outcomes")]
IdsOption = Annotated[list[str] | None, typer.Option("--id", help="A dead letter's id (repeat).")]
AllOption = Annotated[bool, typer.Option("--all", help="Every dead letter of the stream.")]


@app.command("list")
def list_command(
    stream: StreamArgument,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """One JSON line per dead letter, oldest first: id, kind, error, source id, size."""
    letters = _run(stream, lambda queue, s: list_dead(queue, s, limit=limit))
    for letter in letters:
        typer.echo(json.dumps(_summary(letter)))
    if not letters:
        typer.echo("no dead letters", err=True)


@app.command("requeue")
def requeue_command(stream: StreamArgument, ids: IdsOption = None, every: AllOption = False) -> None:
    """Put dead letters back on their stream, to be handled again (after the fault is fixed)."""
    chosen = _choice(ids, every)
    moved = _run(stream, lambda queue, s: requeue(queue, s, chosen))
    typer.echo(f"requeued {len(moved)} entr{'y' if len(moved) == 1 else 'ies'} on {stream}")


@app.command("drop")
def drop_command(stream: StreamArgument, ids: IdsOption = None, every: AllOption = False) -> None:
    """Delete dead letters for good."""
    chosen = _choice(ids, every)
    dropped = _run(stream, lambda queue, s: drop(queue, s, chosen))
    typer.echo(f"dropped {len(dropped)} entr{'y' if len(dropped) == 1 else 'ies'} from {stream}")


def _choice(ids: list[str] | None, every: bool) -> list[str] | None:
    if bool(ids) == every:
        typer.echo("name the entries with --id ID (repeat), or pass --all", err=True)
        raise typer.Exit(2)
    return None if every else ids


def _summary(letter: DeadLetter) -> dict[str, object]:
    return {
        "id": letter.id,
        "kind": letter.kind,
        "error": letter.error,
        "source_id": letter.source_id,
        "bytes": len(letter.data),
    }


def _run(stream_name: str, action: Callable[[WorkQueue, Stream], Awaitable[T]]) -> T:
    from stack.cli import load_settings_or_exit

    settings = load_settings_or_exit()
    if settings.queue.url.startswith("memory://"):
        typer.echo(
            "the in-process queue lives inside `maskwatch up` and keeps no dead letters after it stops; "
            "set MASKWATCH_QUEUE__URL=redis://… to manage them",
            err=True,
        )
        raise typer.Exit(2)
    try:
        stream = Streams(settings.queue.prefix).named(stream_name)
    except KeyError as exc:
        typer.echo(str(exc.args[0]), err=True)
        raise typer.Exit(2) from exc

    async def main() -> T:
        queue = open_queue(settings.queue.url)
        try:
            return await action(queue, stream)
        finally:
            await queue.close()

    try:
        return asyncio.run(main())
    except QueueUnavailable as exc:
        typer.echo(f"cannot reach the queue at {settings.queue.url}: {exc}", err=True)
        raise typer.Exit(1) from exc
    except KeyError as exc:
        typer.echo(str(exc.args[0]), err=True)
        raise typer.Exit(2) from exc
