"""`maskwatch monitor replay VIDEO`: a recording through the model, tracker and alerts; events as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    no_args_is_help=True, help="Indoor monitoring: replay recordings to check and tune cameras."
)


@app.command("replay")
def replay_command(
    video: Annotated[str, typer.Argument(help="A video file (or an rtsp:// URL).")],
    fps: Annotated[float, typer.Option(min=0.1, max=30, help="Frames analysed per second.")] = 2.0,
    unmasked_after: Annotated[
        float, typer.Option("--unmasked-after", min=0.1, help="Seconds unmasked before an alert opens.")
    ] = 60.0,
    grace: Annotated[float, typer.Option(min=0, help="Seconds masked that end an unmasked spell.")] = 5.0,
    cooldown: Annotated[
        float, typer.Option(min=0, help="Seconds after an alert resolves before the same person again.")
    ] = 300.0,
    lost_after: Annotated[
        float, typer.Option("--lost-after", min=0.5, help="Seconds unseen before a person has left.")
    ] = 4.0,
    incorrect_counts: Annotated[
        bool,
        typer.Option("--incorrect-counts/--incorrect-is-masked", help="Is a mask below the nose unmasked?"),
    ] = True,
    annotate: Annotated[
        Path | None, typer.Option(help="Also write the video with tracks, labels and timers drawn (MP4).")
    ] = None,
) -> None:
    """Print one JSON line per alert event: opened (time, track, box) and resolved (time, track, why)."""
    from maskwatch.video import VideoError
    from services.inference.engine import build_engine
    from services.monitoring.settings import CameraSettings
    from stack.monitor_replay import replay

    if "://" not in video and not Path(video).is_file():
        typer.echo(f"cannot read {video}: no such file", err=True)
        raise typer.Exit(2)
    settings = CameraSettings(
        unmasked_after_s=unmasked_after,
        grace_s=grace,
        cooldown_s=cooldown,
        incorrect_counts=incorrect_counts,
        lost_after_s=lost_after,
    )
    engine = build_engine()
    try:
        for event in replay(video, engine, settings, fps=fps, annotate=annotate):
            typer.echo(json.dumps(event.as_line()))
    except VideoError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
