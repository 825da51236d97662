"""Shared helpers for the gpiozero-backed devices."""

from __future__ import annotations

from typing import Any

__all__ = ["GpioPin", "load_gpiozero"]

#: A pin as gpiozero accepts it: a BCM number (17) or a name ("GPIO17", "BOARD11").
GpioPin = int | str


def load_gpiozero() -> Any:
    """Import gpiozero when a GPIO device is built, so simulated setups never need it installed."""
    try:
        import gpiozero  # optional 'pi' dependency
    except ImportError as exc:
        raise RuntimeError("gpiozero is not installed: pip install 'maskwatch[pi]'") from exc
    return gpiozero
