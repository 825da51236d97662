"""Message contracts: one module per message, shared by every publisher and consumer.

A message is validated when it is built and again when it is received, so a
device, a service and a test all agree on exactly one definition.
"""

from maskwatch.contracts.alert_transition import AlertKind, AlertTransition, Transition
from maskwatch.contracts.camera_analysis import CameraAnalysis
from maskwatch.contracts.camera_config import CameraConfig
from maskwatch.contracts.camera_frame import CameraFrame, ReceivedCameraFrame
from maskwatch.contracts.camera_status import CameraState, CameraStatus
from maskwatch.contracts.common import SCHEMA_VERSION, ContractError, Message, decode
from maskwatch.contracts.delivery_retry import DeliveryRetry
from maskwatch.contracts.gate_analysis import AnalyzedFace, GateAnalysis
from maskwatch.contracts.gate_check import GateCheck, ReceivedGateCheck, TemperatureReading
from maskwatch.contracts.gate_command import GateCommand
from maskwatch.contracts.gate_command_ack import CommandOutcome, GateCommandAck
from maskwatch.contracts.gate_config import GateConfig
from maskwatch.contracts.gate_status import GateState, GateStatus
from maskwatch.contracts.rejection import Rejection, RejectionCode
from maskwatch.contracts.sensor_health import SensorState
from maskwatch.contracts.verdict import Decision, Reason, Timings, Verdict

__all__ = [
    "SCHEMA_VERSION",
    "AlertKind",
    "AlertTransition",
    "AnalyzedFace",
    "CameraAnalysis",
    "CameraConfig",
    "CameraFrame",
    "CameraState",
    "CameraStatus",
    "CommandOutcome",
    "ContractError",
    "Decision",
    "DeliveryRetry",
    "GateAnalysis",
    "GateCheck",
    "GateCommand",
    "GateCommandAck",
    "GateConfig",
    "GateState",
    "GateStatus",
    "Message",
    "Reason",
    "ReceivedCameraFrame",
    "ReceivedGateCheck",
    "Rejection",
    "RejectionCode",
    "SensorState",
    "TemperatureReading",
    "Timings",
    "Transition",
    "Verdict",
    "decode",
]
