"""The command line as a new user meets it: each mistake is one line on stderr and a documented exit status.

2 bad input (an id that cannot be a topic level, a file that is not an image, a path with no images, an
address that is not an e-mail), 4 a broker that is not running, 5 a port that something else holds; never
a traceback. Run through typer's runner where the command allows, and through the installed command
where what is checked is what a person sees in a terminal.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from PIL import Image
from typer.testing import CliRunner

from maskwatch.contracts.common import DEVICE_ID_RULE
from stack.cli import app
from tests.ports import free_port

MASKWATCH = Path(sys.executable).parent / "maskwatch"
NOT_AN_IMAGE = "is not an image: give a JPEG or PNG photo"


def one_line_error(result: Result, exit_code: int) -> str:
    """The single line the command wrote on stderr, after checking it failed cleanly with `exit_code`."""
    assert result.exit_code == exit_code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def run_installed(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """The installed `maskwatch` as a terminal runs it: its exit status and its one line on stderr."""
    done = subprocess.run(
        [str(MASKWATCH), *args], env=os.environ | env, capture_output=True, text=True, timeout=60
    )
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return done.returncode, lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port this test holds, as a running `maskwatch up` would."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "face.png"
    Image.new("RGB", (64, 64), (120, 90, 60)).save(path)
    return path


@pytest.fixture
def photos(tmp_path: Path, photo: Path) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    Image.open(photo).save(folder / "0001.jpg")
    return folder


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a photo\n")
    return path


@pytest.fixture
def env(tmp_path: Path, postgres_url: str, unique_id: str) -> dict[str, str]:
    """Settings on the real database; the broker at a port where nothing listens, so a command that
    wrongly went on to connect would fail with 4 rather than pass."""
    return {
        "MASKWATCH_DATABASE__URL": postgres_url,
        "MASKWATCH_MQTT__PORT": str(free_port()),
        "MASKWATCH_MQTT__TOPIC_ROOT": f"test/{unique_id}",
        "MASKWATCH_PROVISIONING__MOSQUITTO_PASSWD_FILE": str(tmp_path / "passwd"),
        "MASKWATCH_INGEST__HTTP_PORT": "null",
        "MASKWATCH_API__PORT": str(free_port()),
    }


@pytest.mark.parametrize(
    ("args", "what", "bad"),
    [
        (["device", "add", "gate 1"], "gate", "gate 1"),
        (["device", "rotate", "a/b"], "device", "a/b"),
        (["camera", "add", "hall/2"], "camera", "hall/2"),
        (["simulate", "gate", "--gate-id", "a/b", "--image", "{photo}"], "gate", "a/b"),
        (["simulate", "camera", "--camera-id", "cam 1", "--images", "{photos}"], "camera", "cam 1"),
    ],
)
def test_an_id_with_a_space_or_a_slash_is_refused_before_anything_runs(
    args: list[str], what: str, bad: str, env: dict[str, str], photo: Path, photos: Path
):
    argv = [a.format(photo=photo, photos=photos) for a in args]
    line = one_line_error(CliRunner().invoke(app, argv, env=env), 2)
    assert line == f"invalid {what} id {bad!r}: use {DEVICE_ID_RULE}"


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("agent", "gate_id: 'a/b'\n", f"gate_id: 'a/b' is not a valid id: use {DEVICE_ID_RULE}"),
        (
            "camera-agent",
            "camera_id: 'cam 1'\n",
            f"camera_id: 'cam 1' is not a valid id: use {DEVICE_ID_RULE}",
        ),
        ("agent", "gate_id: [\n", "is not valid YAML: expected the node content"),
    ],
)
def test_a_device_settings_file_that_is_wrong_is_one_line(
    command: str, text: str, expected: str, tmp_path: Path, env: dict[str, str]
):
    config = tmp_path / "device.yaml"
    config.write_text(text)
    line = one_line_error(CliRunner().invoke(app, [command, "--config", str(config)], env=env), 2)
    assert line.startswith(f"configuration error in {config}: ")
    assert expected in line


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "gate", "--gate-id", "{gate}", "--image", "{notes}"],
        ["simulate", "camera", "--camera-id", "{gate}", "--images", "{photos}"],
        ["detect", "{notes}"],
        ["detect", "--crops", "{notes}"],
    ],
)
def test_a_file_that_is_not_an_image_is_refused(
    args: list[str], env: dict[str, str], notes: Path, photos: Path, unique_id: str
):
    (photos / "0002.jpg").write_bytes(notes.read_bytes())  # a text file named like a frame
    argv = [a.format(gate=unique_id, notes=notes, photos=photos) for a in args]
    line = one_line_error(CliRunner().invoke(app, argv, env=env), 2)
    bad = photos / "0002.jpg" if "camera" in args else notes
    assert line == f"{bad} {NOT_AN_IMAGE}"


def test_detect_refuses_a_path_that_is_missing_or_holds_no_images(tmp_path: Path, notes: Path):
    empty = tmp_path / "empty"
    (empty / "nested").mkdir(parents=True)
    (empty / "nested" / "readme.txt").write_text("no images here")
    missing = tmp_path / "nowhere.jpg"
    runner = CliRunner()
    line = one_line_error(runner.invoke(app, ["detect", str(missing)]), 2)
    assert line == f"{missing} does not exist: give image files, or folders holding them"
    line = one_line_error(runner.invoke(app, ["detect", str(empty)]), 2)
    assert line.startswith(f"{empty} holds no images (")
    result = runner.invoke(app, ["detect", str(empty)])
    assert result.stdout == ""  # nothing that could pass for an image without faces


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["simulate", "gate", "--gate-id", "{gate}", "--image", "{photo}"], "start one with `maskwatch up`"),
        (
            ["simulate", "camera", "--camera-id", "{gate}", "--images", "{photos}"],
            "start one with `maskwatch up`",
        ),
        (["up"], "start it (Mosquitto), or leave MASKWATCH_MQTT__EMBEDDED unset"),
        (["demo"], "start it (Mosquitto), or leave MASKWATCH_MQTT__EMBEDDED unset"),
    ],
)
def test_a_broker_that_is_not_running_is_exit_4_and_says_how_to_start_one(
    args: list[str], hint: str, env: dict[str, str], photo: Path, photos: Path, unique_id: str
):
    argv = [a.format(gate=unique_id, photo=photo, photos=photos) for a in args]
    port = env["MASKWATCH_MQTT__PORT"]
    line = one_line_error(CliRunner().invoke(app, argv, env=env | {"MASKWATCH_MQTT__EMBEDDED": "false"}), 4)
    assert line.startswith(f"cannot reach the MQTT broker at 127.0.0.1:{port} (")
    assert hint in line


def test_the_installed_command_reports_a_missing_broker_without_a_traceback(
    env: dict[str, str], photo: Path, unique_id: str
):
    code, line = run_installed(["simulate", "gate", "--gate-id", unique_id, "--image", str(photo)], env)
    assert code == 4
    assert line.startswith(f"cannot reach the MQTT broker at 127.0.0.1:{env['MASKWATCH_MQTT__PORT']} (")
    assert "`maskwatch up`" in line


@pytest.mark.parametrize(
    ("args", "setting", "what"),
    [
        (["up"], "MASKWATCH_MQTT__PORT", "the embedded MQTT broker"),
        (["demo"], "MASKWATCH_MQTT__PORT", "the embedded MQTT broker"),
        (["up"], "MASKWATCH_API__PORT", "the admin API"),
        (["up"], "MASKWATCH_INGEST__HTTP_PORT", "the HTTP check door"),
        (["api"], "MASKWATCH_API__PORT", "the admin API"),
    ],
)
def test_a_port_already_taken_is_exit_5_and_names_its_setting(
    args: list[str], setting: str, what: str, env: dict[str, str], taken_port: int
):
    line = one_line_error(CliRunner().invoke(app, args, env=env | {setting: str(taken_port)}), 5)
    assert line.startswith(f"port {taken_port} on 127.0.0.1 is already in use ({what}, {setting}): ")
    assert "another `maskwatch up`" in line


def test_a_second_demo_while_one_runs_is_refused_by_the_installed_command(
    env: dict[str, str], taken_port: int
):
    code, line = run_installed(["demo"], env | {"MASKWATCH_MQTT__PORT": str(taken_port)})
    assert code == 5
    assert line.startswith(f"port {taken_port} on 127.0.0.1 is already in use (the embedded MQTT broker")


def test_user_add_refuses_what_is_not_an_email_before_asking_for_a_password(
    env: dict[str, str], postgres_url: str
):
    from maskwatch.database.engine import create_engine, migrate
    from maskwatch.database.schema import users

    migrate(postgres_url)
    result = CliRunner().invoke(app, ["user", "add", "not-an-email", "--role", "admin"], env=env)
    line = one_line_error(result, 2)
    assert line == (
        "'not-an-email' is not an e-mail address: give the address the user signs in with, "
        "such as admin@example.org"
    )
    assert "Password" not in result.output  # refused before the prompt
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        made = conn.execute(sa.select(users).where(users.c.email == "not-an-email")).all()
    engine.dispose()
    assert made == []


def test_user_add_still_creates_an_admin_with_a_real_address(env: dict[str, str], unique_id: str):
    email = f"{unique_id.lower()}@example.org"
    password = "a long enough password\n"
    result = CliRunner().invoke(app, ["user", "add", email], env=env, input=password * 2)
    assert result.exit_code == 0, result.output
    assert f"({email}, admin) created for every site" in result.stdout
