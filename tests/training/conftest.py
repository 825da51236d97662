"""The training tests use the serving engine and face fixtures of the inference tests."""

from tests.inference.conftest import engine, face_crop

__all__ = ["engine", "face_crop"]
