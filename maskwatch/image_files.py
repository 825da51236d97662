"""A photo named by a person (on the command line, in a device's settings), opened with Pillow before use.

A text file handed over as a photo must be refused with its name and what to give instead, before a
command connects to anything, loads a model or sends it; otherwise it fails deep inside a decoder, or
reaches the server only to come back as a rejected check.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

WHAT_TO_GIVE = "give a JPEG or PNG photo"


class NotAnImageError(ValueError):
    """A file that is missing, unreadable or not an image; the message names it and says what to give."""


def check_image_file(path: Path) -> None:
    """Raise NotAnImageError unless Pillow decodes the whole of `path` (so a truncated file fails too)."""
    try:
        with Image.open(path) as image:
            image.load()
    except FileNotFoundError as exc:
        raise NotAnImageError(f"{path} does not exist: {WHAT_TO_GIVE}") from exc
    except IsADirectoryError as exc:
        raise NotAnImageError(f"{path} is a folder, not an image: {WHAT_TO_GIVE}") from exc
    except UnidentifiedImageError as exc:
        raise NotAnImageError(f"{path} is not an image: {WHAT_TO_GIVE}") from exc
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        # Pillow reports a damaged file in several ways; each one means the same to the person.
        raise NotAnImageError(f"{path} is not a readable image ({exc}): {WHAT_TO_GIVE}") from exc
