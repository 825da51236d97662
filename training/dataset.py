"""Reading the face-mask data kept beside the repository: face-crop folders and PASCAL VOC scenes.

The data is never copied into the project; every reader takes a path.
"""

from __future__ import annotations

import hashlib
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from services.inference.model.interface import MaskLabel

DATA_DIR_ENV = "MASKWATCH_DATA_DIR"
REPO_ROOT = Path(__file__).resolve().parents[1]

VOC_LABELS: dict[str, MaskLabel] = {
    "with_mask": "mask",
    "without_mask": "no_mask",
    "mask_weared_incorrect": "incorrect",
}
"""Class names used by the VOC scenes and the crop folders, mapped to ours (ours map to themselves)."""
FOLDER_LABELS: dict[str, MaskLabel] = {
    **VOC_LABELS,
    "mask": "mask",
    "no_mask": "no_mask",
    "incorrect": "incorrect",
}
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})


def resolve_data_dir(option: Path | None = None) -> Path:
    """The data directory: the command-line option, else $MASKWATCH_DATA_DIR, else ../shared/data."""
    if option is not None:
        return option
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env)
    return (REPO_ROOT / ".." / "shared" / "data").resolve()


@dataclass(frozen=True, slots=True)
class LabelledBox:
    """One annotated face, pixel corners with x2/y2 exclusive."""

    label: MaskLabel
    x1: int
    y1: int
    x2: int
    y2: int

    @property
    def width(self) -> int:
        return self.x2 - self.x1


@dataclass(frozen=True, slots=True)
class Scene:
    """An image with every face in it annotated."""

    image_path: Path
    boxes: tuple[LabelledBox, ...]


def load_voc_scenes(scenes_dir: Path) -> list[Scene]:
    """Parse `annotations/*.xml` under a VOC scene set; images are looked up in `images/`."""
    scenes: list[Scene] = []
    for xml_path in sorted((scenes_dir / "annotations").glob("*.xml")):
        root = ET.parse(xml_path).getroot()
        filename = root.findtext("filename") or f"{xml_path.stem}.jpg"
        boxes: list[LabelledBox] = []
        for obj in root.iter("object"):
            name = (obj.findtext("name") or "").strip()
            bndbox = obj.find("bndbox")
            if name not in VOC_LABELS or bndbox is None:
                continue
            x1, y1, x2, y2 = (round(float(bndbox.findtext(k) or 0)) for k in ("xmin", "ymin", "xmax", "ymax"))
            if x2 > x1 and y2 > y1:
                boxes.append(LabelledBox(VOC_LABELS[name], x1, y1, x2, y2))
        scenes.append(Scene(scenes_dir / "images" / filename, tuple(boxes)))
    return scenes


FOLDS = 5


def is_holdout(image_name: str, fold: int = 0) -> bool:
    """A deterministic one-in-`FOLDS` pick by image name, so a split never drifts between runs. Fold 0 is
    the held-out split everything is reported on; folds 1-4 serve cross-validation (docs/model-card.md)."""
    if not 0 <= fold < FOLDS:
        raise ValueError(f"fold must be 0..{FOLDS - 1}, not {fold}")
    digest = hashlib.sha1(Path(image_name).stem.encode()).digest()
    return digest[0] % FOLDS == fold


def split_scenes(scenes: list[Scene], fold: int | None = 0) -> tuple[list[Scene], list[Scene]]:
    """(training scenes, held-out scenes), split by image so no face leaks across.

    `fold=None` holds nothing out: the final fit of a recipe whose folds were already measured, so the
    shipped weights learn from every labelled scene (docs/model-card.md, "Final fit")."""
    if fold is None:
        return list(scenes), []
    train = [s for s in scenes if not is_holdout(s.image_path.name, fold)]
    holdout = [s for s in scenes if is_holdout(s.image_path.name, fold)]
    return train, holdout


def scene_split_text(fold: int | None, trained: int) -> str:
    """How a training record names the scenes a model learnt from."""
    if fold is None:
        return f"scenes/dev, every image (final fit, nothing held out): {trained}"
    return f"scenes/dev training split of fold {fold} (image-level, 4 of 5 by name hash): {trained}"


def crop_key(path: Path) -> str:
    """How a crop is named across splits and reviews: its class folder and file name
    (`with_mask/0_0_33.jpg`)."""
    return f"{path.parent.name}/{path.name}"


def split_crops(
    items: list[tuple[Path, MaskLabel]], fold: int = 0
) -> tuple[list[tuple[Path, MaskLabel]], list[tuple[Path, MaskLabel]]]:
    """(training crops, held-out crops), one in five by class folder and file name."""
    train = [i for i in items if not is_holdout(crop_key(i[0]), fold)]
    holdout = [i for i in items if is_holdout(crop_key(i[0]), fold)]
    return train, holdout


def load_crop_folder(root: Path) -> list[tuple[Path, MaskLabel]]:
    """Images in class subfolders (with_mask/without_mask/mask_weared_incorrect or mask/no_mask/incorrect)."""
    items: list[tuple[Path, MaskLabel]] = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        label = FOLDER_LABELS.get(sub.name)
        if label is None:
            continue
        items += [(p, label) for p in sorted(sub.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    return items


def list_images(paths: list[Path]) -> list[Path]:
    """Expand folders (recursively, sorted) into image files; files are kept as given."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(path)
    return out
