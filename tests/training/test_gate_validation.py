"""The gate-framing validation judges frames through the real gate policy and builds frames as documented;
`maskwatch evaluate` reports it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from services.gate_controller.policy import RuleSet
from services.inference.model.interface import Face, FaceBox, FrameError, FrameResult, MaskLabel
from stack.cli import app
from tests.inference.conftest import voc_scene_set
from training.crop_review import REVIEW_PATH, load_people_review, load_review, relabelled
from training.dataset import is_holdout as crop_is_held_out
from training.gate_framing import (
    CLOSE_UP,
    FACE_WIDTHS,
    FRAME_SIZE,
    PAIR_WIDTHS,
    CropFace,
    crop_faces,
    crop_frames,
    gate_part,
    pair_frames,
)
from training.gate_validation import gate_table, outcome, outcomes_of


def frame(*labels: MaskLabel, score: float = 0.9) -> FrameResult:
    faces = tuple(
        Face(FaceBox(100 + 200 * i, 100, 260 + 200 * i, 300, 0.9), label, score)
        for i, label in enumerate(labels)
    )
    return FrameResult(faces, 640, 480, 1.0, 1.0, 1.0, 120.0, 300.0)


def test_outcomes_follow_the_policys_decision():
    rules = RuleSet()
    assert outcome("mask", frame("mask"), rules) == "right"
    assert outcome("no_mask", frame("no_mask"), rules) == "right"
    assert outcome("incorrect", frame("incorrect"), rules) == "right"
    assert outcome("no_mask", frame("incorrect"), rules) == "right"  # refused for the mask either way
    assert outcome("mask", frame("no_mask"), rules) == "wrong_label"
    assert outcome("no_mask", frame("mask"), rules) == "wrong_label"
    assert outcome("mask", frame(), rules) == "no_face"
    assert outcome("mask", frame("mask", score=0.3), rules) == "no_face"
    assert outcome("no_mask", frame("no_mask", "mask"), rules) == "several_faces"
    assert outcome("mask", FrameError("not_an_image", "x"), rules) == "bad_image"


def test_with_two_people_only_one_person_at_a_time_is_right():
    rules = RuleSet()
    assert outcome("mask", frame("mask", "mask"), rules, people=2) == "right"
    assert outcome("mask", frame("mask"), rules, people=2) == "one_person_seen"
    assert outcome("no_mask", frame("no_mask"), rules, people=2) == "one_person_seen"
    assert outcome("mask", frame(), rules, people=2) == "one_person_seen"


def white_face_crop(tmp_path: Path, name: str, face: tuple[int, int, int, int]) -> Path:
    """A dark photo whose "face" is a white rectangle: easy to measure in the frames built from it."""
    image = np.full((300, 400, 3), 10, np.uint8)
    x1, y1, x2, y2 = face
    image[y1:y2, x1:x2] = 255
    path = tmp_path / name
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 100])
    return path


def white_widths(image: np.ndarray) -> list[int]:
    """Widths of the white rectangles in a frame, left to right."""
    mask = (image.min(axis=2) > 240).astype(np.uint8)
    count, _labels, stats, _centroids = cv2.connectedComponentsWithStats(mask)
    blobs = sorted((stats[i] for i in range(1, count) if stats[i][4] > 50), key=lambda s: s[0])
    return [int(s[2]) for s in blobs]


def test_the_face_not_the_photo_has_each_width(tmp_path: Path):
    path = white_face_crop(tmp_path, "wide.jpg", (150, 100, 190, 150))  # a 40 px face in a 400 px photo
    frames = list(crop_frames([CropFace(path, "mask", (150.0, 100.0, 190.0, 150.0))]))
    photos = [f for f in frames if f.framing == "photo"]
    assert [f.size for f in photos] == [str(w) for w in FACE_WIDTHS if w * 50 / 40 <= FRAME_SIZE[1]]
    for photo in photos:
        [width] = white_widths(photo.image)
        assert abs(width - int(photo.size)) <= 6, (photo.size, width)  # resizing softens edges
    [close_up] = [f for f in frames if f.size == CLOSE_UP]
    assert close_up.image.shape[:2] == (FRAME_SIZE[1], FRAME_SIZE[0])
    assert (close_up.image[5:-5, 5:-5].min(axis=2) > 240).mean() > 0.4  # the face fills the frame's height


def test_two_people_stand_side_by_side_the_second_up_to_twice_as_far(tmp_path: Path):
    items = [
        CropFace(
            white_face_crop(tmp_path, f"{i}.jpg", (100, 80, 180, 180)), "mask", (100.0, 80.0, 180.0, 180.0)
        )
        for i in range(4)
    ]
    frames = list(pair_frames(items))
    assert [f.size for f in frames] == [str(w) for w in PAIR_WIDTHS] * 2
    assert all(f.people == 2 and f.framing == "pair" for f in frames)
    for pair in frames:
        widths = white_widths(pair.image)
        assert len(widths) == 2, widths
        assert abs(max(widths) - int(pair.size)) <= 6
        assert 0.5 * int(pair.size) - 6 <= min(widths)


def test_crops_are_kept_with_their_face_or_left_out_by_why(tmp_path: Path, face_crop: np.ndarray):
    one = tmp_path / "one.jpg"
    cv2.imwrite(str(one), face_crop)
    group = tmp_path / "group.jpg"
    cv2.imwrite(str(group), np.hstack([face_crop, face_crop]))
    far = tmp_path / "far.jpg"
    canvas = np.full((400, 600, 3), 128, np.uint8)
    small = cv2.resize(face_crop, (24, 26))
    canvas[100:126, 300:324] = small
    cv2.imwrite(str(far), canvas)
    kept, left_out = crop_faces([(one, "no_mask"), (group, "no_mask"), (far, "no_mask")])
    assert [k.path for k in kept] == [one]
    assert kept[0].face is not None
    x1, _y1, x2, _y2 = kept[0].face
    assert 0.4 * face_crop.shape[1] < x2 - x1 < face_crop.shape[1]
    assert left_out == {"several_people": 1, "face_under_32_px": 1}


def test_a_crop_the_review_saw_another_person_in_is_left_out(tmp_path: Path, face_crop: np.ndarray):
    folder = tmp_path / "with_mask"
    folder.mkdir()
    crowd, alone = folder / "crowd.jpg", folder / "alone.jpg"
    for path in (crowd, alone):
        cv2.imwrite(str(path), face_crop)  # one face each, as the independent detector sees them
    kept, left_out = crop_faces([(crowd, "mask"), (alone, "mask")], other_people={"with_mask/crowd.jpg"})
    assert [k.path for k in kept] == [alone]
    assert left_out == {"another_person_by_review": 1}


def test_the_committed_people_review_names_held_out_crops_seen_twice(tmp_path: Path):
    seen = load_people_review()
    assert seen, "the review lists the crops that show another person"
    assert all(crop_is_held_out(crop) for crop in seen)
    assert {crop.split("/")[0] for crop in seen} <= {"with_mask", "without_mask"}
    assert all(what for what in seen.values())
    bad = tmp_path / "bad.csv"
    bad.write_text("crop,looks,seen\nwith_mask/a.jpg,1,a crowd\n")
    with pytest.raises(ValueError, match=r"bad\.csv:2: a crop needs a name and two looks"):
        load_people_review(bad)


def test_crops_become_one_person_frames_at_every_width_and_a_close_up(tmp_path: Path, face_crop: np.ndarray):
    path = tmp_path / "with_mask" / "face.jpg"
    path.parent.mkdir()
    cv2.imwrite(str(path), cv2.resize(face_crop, (100, 120)))
    frames = list(crop_frames([CropFace(path, "mask", None)]))
    assert [f.size for f in frames] == [str(w) for w in FACE_WIDTHS] + [CLOSE_UP]
    assert all(f.image.shape[:2] == (FRAME_SIZE[1], FRAME_SIZE[0]) for f in frames)
    again = crop_frames([CropFace(path, "mask", None)])
    assert [f.image.tobytes() for f in again] == [f.image.tobytes() for f in frames]


def test_the_two_parts_split_names_for_good():
    parts = [gate_part(f"with_mask/{i}.jpg") for i in range(200)]
    assert 60 < parts.count("report") < 140
    assert parts == [gate_part(f"with_mask/{i}.jpg") for i in range(200)]


def test_the_table_counts_rights_and_failures_per_class_and_size(tmp_path: Path, face_crop: np.ndarray):
    path = tmp_path / "face.jpg"
    cv2.imwrite(str(path), face_crop)
    [first, *_] = crop_frames([CropFace(path, "mask", None)])
    table = gate_table([(first, "right"), (first, "several_faces")])
    assert table["crops"]["mask"][first.size] == {"frames": 2, "right": 0.5, "failures": {"several_faces": 1}}


def held_out_report_names(count: int) -> list[str]:
    """Crop names that fall in the held-out fifth and its report half."""
    names = (f"face{i}.jpg" for i in range(10_000))
    return [n for n in names if crop_is_held_out(n) and gate_part(n) == "report"][:count]


def test_evaluate_reports_the_gate_framing_of_the_data_dir(tmp_path: Path, face_crop: np.ndarray):
    data = tmp_path / "data"
    voc_scene_set(data, face_crop, 3)
    crops = data / "crops" / "train" / "without_mask"
    crops.mkdir(parents=True)
    for name in held_out_report_names(2):
        cv2.imwrite(str(crops / name), face_crop)
    result = CliRunner().invoke(app, ["evaluate", "--data-dir", str(data), "--split", "all"])
    assert result.exit_code == 0, result.output
    gate = json.loads(result.stdout)["gate_framing"]
    assert (gate["part"], gate["crops"], gate["crops_left_out_as_several_people"]) == ("report", 2, 0)
    assert gate["crops_left_out_as_another_person_by_review"] == 0
    sizes = gate["table"]["crops"]["no_mask"]
    assert set(sizes) == {*map(str, FACE_WIDTHS), CLOSE_UP, "all"}
    assert sizes["all"]["frames"] == 2 * (len(FACE_WIDTHS) + 1)
    assert gate["table"]["crops:pairs"]["two_people"]["all"]["frames"] == len(PAIR_WIDTHS)
    # No crop of this data set is in the review: both tables agree.
    assert gate["crops_relabelled_by_review"] == []
    assert gate["table_with_the_crop_sets_labels"] == gate["table"]
    # Unmasked faces are not asked about the nose: the table with the nose rule is the same.
    assert gate["table_with_the_nose_rule"] == gate["table"]


def test_a_reviewed_crop_is_judged_by_its_reviewed_label_and_reported_both_ways(
    tmp_path: Path, face_crop: np.ndarray
):
    folder = tmp_path / "with_mask"
    folder.mkdir()
    under_nose, fine = folder / "under_nose.jpg", folder / "fine.jpg"
    for path in (under_nose, fine):
        cv2.imwrite(str(path), face_crop)
    kept, _ = crop_faces([(under_nose, "mask"), (fine, "mask")], {"with_mask/under_nose.jpg": "incorrect"})
    assert [(k.label, k.folder_label) for k in kept] == [("incorrect", "mask"), ("mask", None)]
    frames = [next(iter(crop_frames([item]))) for item in kept]
    assert [(f.label, f.label_in_folder) for f in frames] == [("incorrect", "mask"), ("mask", "mask")]
    refused = frame("incorrect")  # what the gate should answer to a mask under the nose
    judged = [(frames[0], refused), (frames[1], frame("mask"))]
    assert [o for _f, o in outcomes_of(judged)] == ["right", "right"]
    as_filed = outcomes_of(judged, reviewed_labels=False)
    assert [(f.label, o) for f, o in as_filed] == [("mask", "wrong_label"), ("mask", "right")]


def test_the_committed_review_changes_labels_and_held_out_crops_had_two_looks(tmp_path: Path):
    review = load_review()
    assert review, "the review lists the crops it relabelled"
    with REVIEW_PATH.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["crop", "folder_label", "reviewed", "looks", "seen"]
    held_out = 0
    for row in rows:
        folder = row["crop"].split("/")[0]
        assert row["folder_label"] == {"with_mask": "mask", "without_mask": "no_mask"}[folder]
        assert review[row["crop"]] == row["reviewed"] != row["folder_label"]
        if crop_is_held_out(row["crop"]):
            held_out += 1
            assert row["looks"] == "2", row  # what the gate validation reports on was looked at twice
    assert held_out > 0
    bad = tmp_path / "bad.csv"
    bad.write_text("crop,folder_label,reviewed,looks,seen\nwith_mask/a.jpg,mask,worn_badly,1,x\n")
    with pytest.raises(ValueError, match=r"bad\.csv:2: unknown label 'worn_badly'"):
        load_review(bad)


def test_training_takes_the_reviewed_label_of_a_crop_and_the_folders_of_the_rest():
    items = [(Path("crops/with_mask/under_nose.jpg"), "mask"), (Path("crops/with_mask/fine.jpg"), "mask")]
    assert relabelled(items, {"with_mask/under_nose.jpg": "incorrect", "without_mask/fine.jpg": "mask"}) == [
        (Path("crops/with_mask/under_nose.jpg"), "incorrect"),
        (Path("crops/with_mask/fine.jpg"), "mask"),
    ]
