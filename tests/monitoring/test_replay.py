"""`maskwatch monitor replay` on generated clips: the real model, tracker and alerts, timed by the video."""

from __future__ import annotations

import json

import av
import cv2
import pytest
from typer.testing import CliRunner

from stack.cli import app
from stack.demo.indoor_scene import Actor, portrait_face, write_clip

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def faces():
    return {"mask": portrait_face("mask"), "no_mask": portrait_face("no_mask")}


def replay(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["monitor", "replay", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_an_unmasked_person_raises_one_alert_that_resolves_when_they_mask_up(tmp_path, faces):
    clip = write_clip(
        tmp_path / "room.mp4",
        [
            Actor(faces, lambda t: (180 + 8 * t, 200), unmasked=[(1.0, 9.0)]),
            Actor(faces, lambda t: (470, 230 - 3 * t)),  # masked throughout
        ],
        duration=14.0,
    )
    events = replay(str(clip), "--fps", "2", "--unmasked-after", "4", "--grace", "2")
    assert [e["event"] for e in events] == ["opened", "resolved"]
    opened, resolved = events
    assert opened["t"] == pytest.approx(5.0, abs=1.0)
    assert resolved["why"] == "masked"
    assert resolved["t"] == pytest.approx(11.0, abs=1.0)
    assert opened["track"] == resolved["track"]
    x1, y1, x2, y2 = opened["box"]
    assert x1 < 180 + 8 * 5 < x2  # the unmasked person's box, in frame pixels
    assert y1 < 200 < y2


def test_a_person_who_walks_out_resolves_as_left(tmp_path, faces):
    clip = write_clip(
        tmp_path / "leaves.mp4",
        [Actor(faces, lambda t: (200 + 10 * t, 220), unmasked=[(0.0, 99.0)], present=(0.0, 7.0))],
        duration=14.0,
    )
    events = replay(str(clip), "--fps", "2", "--unmasked-after", "3")
    assert [(e["event"], e.get("why")) for e in events] == [("opened", None), ("resolved", "left")]
    assert events[1]["t"] >= 7.0


def test_annotate_writes_the_video_that_was_analysed(tmp_path, faces):
    clip = write_clip(tmp_path / "short.mp4", [Actor(faces, lambda t: (320, 240), unmasked=[(0, 9)])], 4.0)
    out = tmp_path / "seen.mp4"
    replay(str(clip), "--fps", "2", "--annotate", str(out))
    with av.open(str(out)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 8
    assert (frames[0].width, frames[0].height) == (640, 480)


def test_an_unreadable_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "not-a-video.mp4"
    bad.write_bytes(b"this is not a video")
    result = CliRunner().invoke(app, ["monitor", "replay", str(bad)])
    assert result.exit_code == 2
    assert "cannot open" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(app, ["monitor", "replay", str(tmp_path / "nothing.mp4")])
    assert missing.exit_code == 2
    assert "no such file" in missing.output


@pytest.mark.needs_data
def test_people_cut_from_the_dev_data_crossing_paths_get_one_alert_each(tmp_path, data_dir):
    """Two real faces from the dev crops walk past each other; one takes the mask off and puts it back."""
    crops = data_dir / "crops" / "train"

    def face(folder: str, name: str):
        image = cv2.imread(str(crops / folder / name))
        assert image is not None
        return image

    unmasked_name = sorted(p.name for p in (crops / "without_mask").glob("*.jpg"))[0]
    first = {"mask": face("with_mask", "0129.jpg"), "no_mask": face("without_mask", unmasked_name)}
    second = {"mask": face("with_mask", "0323.jpg"), "no_mask": face("with_mask", "0323.jpg")}
    clip = write_clip(
        tmp_path / "crossing.mp4",
        [
            Actor(first, lambda t: (120 + 25 * t, 200), width=120, unmasked=[(2.0, 12.0)]),
            Actor(second, lambda t: (520 - 25 * t, 215), width=120),
        ],
        duration=18.0,
    )
    events = replay(str(clip), "--fps", "2", "--unmasked-after", "5", "--grace", "2")
    assert [e["event"] for e in events] == ["opened", "resolved"]
    assert events[0]["t"] == pytest.approx(7.0, abs=1.5)
    assert events[1]["why"] == "masked"
    assert events[1]["t"] == pytest.approx(14.0, abs=1.5)
