"""A check's face thumbnail: linked and served to those who may see its site, while retention keeps it."""

from __future__ import annotations

import os
import time

from maskwatch.face_crops import FaceCropSettings, FaceCropStore
from stack.demo.sample_faces import sample_jpeg
from tests.api.conftest import build_world


def test_the_face_is_served_to_the_sites_users_only(new_postgres, password_hash, tmp_path) -> None:
    settings = FaceCropSettings(directory=tmp_path, keep_hours=2)
    world = build_world(new_postgres(), password_hash, face_crops=settings)
    store = FaceCropStore(settings)
    jpeg = sample_jpeg("mask")
    store.save(world.checks["a"], jpeg)
    a, b = world.checks["a"], world.checks["b"]

    with world.client("viewer_a") as viewer:
        check = viewer.get(f"/api/v1/checks/{a}").json()
        assert check["_links"]["face"]["href"] == f"/api/v1/checks/{a}/face"
        listed = viewer.get("/api/v1/checks", params={"site": "a"}).json()["_embedded"]["items"]
        assert [c["_links"].get("face", {}).get("href") for c in listed] == [f"/api/v1/checks/{a}/face"]
        face = viewer.get(f"/api/v1/checks/{a}/face")
        assert face.status_code == 200
        assert face.headers["content-type"] == "image/jpeg"
        assert face.headers["cache-control"].startswith("private")
        assert face.content == jpeg

    with world.client("operator_b") as other:
        assert other.get(f"/api/v1/checks/{a}/face").status_code == 404  # another site's check does not exist
        no_face = other.get(f"/api/v1/checks/{b}")
        assert "face" not in no_face.json()["_links"]
        assert other.get(f"/api/v1/checks/{b}/face").status_code == 404

    # Past retention: neither linked nor served, even before the worker's purge deletes the file.
    past = time.time() - 2 * 3600 - 5
    os.utime(tmp_path / f"{a}.jpg", (past, past))
    with world.client("viewer_a") as viewer:
        assert "face" not in viewer.get(f"/api/v1/checks/{a}").json()["_links"]
        assert viewer.get(f"/api/v1/checks/{a}/face").status_code == 404
    world.engine.dispose()
