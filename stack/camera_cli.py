"""`maskwatch camera add` and `maskwatch simulate camera`: registering indoor cameras, and acting as one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Indoor cameras: registration.")


@app.command("add")
def camera_add_command(
    camera_id: Annotated[str, typer.Argument(help="The new camera's id (letters, digits, . _ -).")],
    site: Annotated[str, typer.Option(help="The site the camera watches.")] = "default",
    name: Annotated[str | None, typer.Option(help="A name for the dashboard.")] = None,
    rtsp: Annotated[
        str | None,
        typer.Option(help="An IP camera's stream, read by the server (rtsp://…); no broker account."),
    ] = None,
    fps: Annotated[float, typer.Option(min=0.1, max=10, help="Frames analysed per second.")] = 2.0,
    unmasked_after: Annotated[
        float, typer.Option("--unmasked-after", min=1, help="Seconds unmasked before an alert opens.")
    ] = 60.0,
    grace: Annotated[float, typer.Option(min=0, help="Seconds masked that end an unmasked spell.")] = 5.0,
    cooldown: Annotated[float, typer.Option(min=0, help="Quiet seconds per person after an alert.")] = 300.0,
    lost_after: Annotated[
        float, typer.Option("--lost-after", min=0.5, help="Seconds unseen before a person has left.")
    ] = 4.0,
    incorrect_counts: Annotated[
        bool,
        typer.Option("--incorrect-counts/--incorrect-is-masked", help="Is a mask below the nose unmasked?"),
    ] = True,
    ignore_zone: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore-zone",
            help="A polygon in frame pixels whose faces are not people (a poster): 'x,y x,y x,y …' (repeat).",
        ),
    ] = None,
    passwd_file: Annotated[Path | None, typer.Option(help="Mosquitto password file to update.")] = None,
    rotate: Annotated[
        bool,
        typer.Option(
            "--rotate",
            help="The camera exists: register it again with these settings and, for a camera agent, a new "
            "password (the old one stops).",
        ),
    ] = False,
) -> None:
    """Register a camera and its monitoring settings; a camera agent also gets a broker account.

    An existing camera (or any device holding the id) is refused unless --rotate is given: adding it
    again would silently cut off the camera using the id. The password is shown once; the broker applies
    the account at once with `provisioning.broker_reload_command`, else at its next reload (SIGHUP).
    """
    from maskwatch.database.cameras import DeviceIdTaken, UnknownSiteError, register_camera
    from maskwatch.database.engine import create_engine, migrate
    from maskwatch.topics import Topics
    from services.monitoring.settings import CameraSettings
    from stack.cli import load_settings_or_exit, require_device_id
    from stack.device_cli import RELOAD_HINT, accounts_for, record, refuse_taken_unless_rotated

    require_device_id(camera_id, "camera")
    if rtsp is not None and not rtsp.startswith(("rtsp://", "rtsps://", "http://", "https://")):
        typer.echo(f"--rtsp must be an rtsp:// (or http://) URL, not {rtsp!r}", err=True)
        raise typer.Exit(2)
    try:
        zones = [parse_polygon(text) for text in ignore_zone or []]
    except ValueError as exc:
        typer.echo(f"--ignore-zone: {exc}", err=True)
        raise typer.Exit(2) from exc
    camera = CameraSettings(
        fps=fps,
        unmasked_after_s=unmasked_after,
        grace_s=grace,
        cooldown_s=cooldown,
        incorrect_counts=incorrect_counts,
        lost_after_s=lost_after,
        ignore_zones=zones,
    )
    settings = load_settings_or_exit()
    accounts = accounts_for(settings.provisioning, passwd_file)
    migrate(settings.database.url)
    database = create_engine(settings.database.url)
    try:
        refuse_taken_unless_rotated(
            database,
            accounts,
            camera_id,
            rotate=rotate,
            taken=f"{camera_id!r} exists already: `--rotate` registers the camera again with these "
            "settings and gives a camera agent a new password (its old one stops working), or choose "
            "another id",
        )
        register_camera(
            database,
            camera_id,
            site_id=site,
            name=name,
            rtsp_url=rtsp,
            settings=camera.model_dump(mode="json"),
        )
        with database.begin() as connection:
            record(connection, "device.rotate" if rotate else "device.add", "camera", camera_id, site)
    except (UnknownSiteError, DeviceIdTaken) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    finally:
        database.dispose()
    typer.echo(f"Camera {camera_id} registered under site {site}: alert after {unmasked_after:g} s unmasked.")
    if rtsp is not None:
        typer.echo(f"The server reads {rtsp} at {fps:g} frames per second.")
        return
    change = accounts.issue(camera_id)
    topics = Topics(settings.mqtt.topic_root)
    broker = settings.device_broker_address()
    typer.echo(f"Broker: {broker.host}:{broker.port}  username: {camera_id}")
    typer.echo(f"Password (shown once): {change.password}")
    typer.echo(f"  publish frames              {topics.camera_frame.format(camera_id=camera_id)}")
    typer.echo(f"  publish status (retained)   {topics.camera_status.format(camera_id=camera_id)}")
    typer.echo(f"  receive configuration       {topics.camera_config.format(camera_id=camera_id)}")
    applied = "the broker applied it" if change.broker_reloaded else RELOAD_HINT
    typer.echo(f"Broker account in {accounts.passwd_file}; {applied}.")


def parse_polygon(text: str) -> list[tuple[float, float]]:
    """'10,20 200,20 200,300' → [(10, 20), (200, 20), (200, 300)]; at least three points."""
    points = []
    for pair in text.split():
        x, sep, y = pair.partition(",")
        if not sep:
            raise ValueError(f"{pair!r} is not x,y")
        try:
            points.append((float(x), float(y)))
        except ValueError:
            raise ValueError(f"{pair!r} is not two numbers") from None
    if len(points) < 3:
        raise ValueError(f"a zone needs at least three points, not {len(points)}")
    return points


def simulate_camera_command(
    camera_id: Annotated[str, typer.Option("--camera-id", help="The camera to act as.")],
    video: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="A video file to play.")
    ] = None,
    images: Annotated[
        Path | None, typer.Option(exists=True, file_okay=False, help="A folder of images, in name order.")
    ] = None,
    fps: Annotated[float, typer.Option(min=0.1, max=10, help="Frames per second.")] = 2.0,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="MASKWATCH_CAMERA_PASSWORD",
            help="The camera's broker password from `maskwatch camera add` (username: the camera id).",
        ),
    ] = None,
) -> None:
    """Publish frames as a camera agent would, signed in as that camera, in real time; prints how many
    were sent and dropped.

    Exit status: 0 sent, 2 a bad camera id, a folder without images or a file that is not one, a video
    that cannot be read, or no password for the embedded broker, 4 the broker cannot be reached or
    refused the camera's account.
    """
    from maskwatch.video import VideoError
    from stack.cli import (
        CREDENTIALS_HINT,
        broker_errors_exit,
        gate_account_or_exit,
        load_settings_or_exit,
        require_device_id,
    )
    from stack.demo.simulate import simulate_camera, video_frames

    if (video is None) == (images is None):
        typer.echo("give exactly one of --video FILE or --images DIR", err=True)
        raise typer.Exit(2)
    require_device_id(camera_id, "camera")
    frames = video_frames(str(video), fps) if video is not None else _folder_frames_or_exit(images, fps)
    settings = load_settings_or_exit()
    mqtt = gate_account_or_exit(settings.mqtt, camera_id, password, kind="camera")
    refused = (
        f"check camera {camera_id}'s password (--password)" if password is not None else CREDENTIALS_HINT
    )
    try:
        with broker_errors_exit(mqtt, refused):
            sent, dropped = asyncio.run(simulate_camera(mqtt, camera_id, frames, fps=fps))
    except VideoError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"camera {camera_id}: {sent} frames sent, {dropped} dropped")


def _folder_frames_or_exit(folder: Path | None, fps: float) -> Iterator[tuple[float, bytes]]:
    """The folder's frames, every image checked before the broker is contacted; else exit 2 naming why."""
    from maskwatch.image_files import NotAnImageError
    from stack.demo.simulate import folder_frames, folder_images

    try:
        return folder_frames(folder_images(folder or Path()), fps)
    except NotAnImageError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
