"""The queue streams between services, declared once.

Each stream has exactly one consumer group (the service that reads it), and an
entry is acknowledged only after that service has handed its output on, so a
crash at any point redelivers instead of losing a check.

    MQTT gates/+/check ─▶ ingest ─▶ CHECKS ─▶ inference ─▶ ANALYSES ─▶ gate_controller
                                                                        │
                         MQTT gates/{id}/verdict ◀───────────────────────┤
                                                    OUTCOMES ◀───────────┘
                                                        │
                                                        ▼
                                                      stats ─▶ database
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StreamSpec:
    name: str
    group: str


@dataclass(frozen=True)
class Streams:
    prefix: str = "maskwatch"

    @property
    def checks(self) -> StreamSpec:
        """GateCheck entries awaiting the inference worker."""
        return StreamSpec(f"{self.prefix}:checks", "inference")

    @property
    def analyses(self) -> StreamSpec:
        """GateAnalysis entries awaiting the gate controller's policy."""
        return StreamSpec(f"{self.prefix}:analyses", "gate_controller")

    @property
    def outcomes(self) -> StreamSpec:
        """Verdict and Rejection entries awaiting the stats service."""
        return StreamSpec(f"{self.prefix}:outcomes", "stats")

    @staticmethod
    def dead_letters(spec: StreamSpec) -> str:
        """Where an entry goes after it failed too many deliveries, for an operator to inspect."""
        return f"{spec.name}:dead"
