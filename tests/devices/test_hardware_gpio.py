"""Gate, indicators and triggers on gpiozero's mock pins (and simulated twins)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from devices.hardware.gate import (
    RelayGate,
    RelayGateConfig,
    ServoGate,
    ServoGateConfig,
    SimulatedGate,
)
from devices.hardware.indicators import (
    ConsoleIndicator,
    GpioIndicator,
    GpioIndicatorConfig,
    IndicatorState,
)
from devices.hardware.trigger import (
    ButtonTrigger,
    ButtonTriggerConfig,
    DistanceTrigger,
    DistanceTriggerConfig,
    ManualTrigger,
    TimedTrigger,
    TimedTriggerConfig,
)


def eventually(predicate, timeout: float = 1.0) -> bool:
    """Poll ``predicate`` until true; background blink/beep threads need a moment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.002)
    return bool(predicate())


def levels(pin) -> list[float]:
    """The distinct successive levels a mock pin went through."""
    out: list[float] = []
    for s in pin.states:
        if not out or out[-1] != s.state:
            out.append(s.state)
    return out


# -- gate ------------------------------------------------------------------------------------------


def test_relay_active_high(mock_pins):
    gate = RelayGate(RelayGateConfig(pin=17))
    pin = mock_pins.pin(17)
    assert pin.state == 0
    assert not gate.is_open
    gate.open()
    assert pin.state == 1
    assert gate.is_open
    gate.open()
    assert pin.state == 1
    gate.close()
    assert pin.state == 0
    assert not gate.is_open


def test_relay_active_low_starts_released_and_release_locks(mock_pins):
    gate = RelayGate(RelayGateConfig(pin="GPIO22", active_high=False))
    pin = mock_pins.pin(22)
    assert pin.state == 1  # inactive level of an active-low relay board: de-energised, locked
    gate.open()
    assert pin.state == 0
    gate.release()
    # de-energised (high) before the pin is let go, so the relay never pulses on at shutdown
    assert [s.state for s in pin.states][1:4] == [1, 0, 1]
    assert pin.function == "input"


def test_servo_moves_between_angles(mock_pins):
    gate = ServoGate(ServoGateConfig(pin=18, closed_angle=0, open_angle=90))
    pin = mock_pins.pin(18)
    assert gate.angle == pytest.approx(0)
    assert pin.frequency == pytest.approx(50)
    assert pin.state == pytest.approx(0.0015 / 0.02)  # 1.5 ms pulse = centre = 0°
    gate.open()
    assert gate.is_open
    assert gate.angle == pytest.approx(90)
    assert pin.state == pytest.approx(0.002 / 0.02)  # 2 ms pulse = +90°
    gate.close()
    assert not gate.is_open
    assert gate.angle == pytest.approx(0)
    assert pin.state == pytest.approx(0.0015 / 0.02)


def test_servo_config_rejects_angles_outside_range():
    with pytest.raises(ValueError, match="open_angle"):
        ServoGateConfig(open_angle=120, min_angle=-90, max_angle=90)


def test_simulated_gate_records_history():
    gate = SimulatedGate()
    gate.open()
    gate.close()
    gate.release()
    assert gate.actions == ["open", "close", "close"]
    assert not gate.is_open
    times = [e.monotonic_s for e in gate.history]
    assert times == sorted(times)


# -- indicators ------------------------------------------------------------------------------------


@pytest.fixture
def gpio_indicator(mock_pins):
    indicator = GpioIndicator(
        GpioIndicatorConfig(
            green_pin=23,
            red_pin=24,
            buzzer_pin=25,
            short_beep_s=0.02,
            long_beep_s=0.06,
            blink_s=0.01,
            slow_blink_s=0.02,
        )
    )
    yield indicator
    indicator.release()


def beeps_asked(indicator: GpioIndicator) -> list[float]:
    """The lengths the indicator asks its buzzer for: checked as asked, not timed, so a loaded machine
    cannot fail them (the buzzer's own timing is gpiozero's)."""
    asked: list[float] = []
    beep = indicator.buzzer.beep

    def recording(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["on_time"])
        return beep(*args, **kwargs)

    indicator.buzzer.beep = recording
    return asked


def test_pass_is_green_and_a_short_beep(mock_pins, gpio_indicator):
    green, red, buzzer = (mock_pins.pin(n) for n in (23, 24, 25))
    asked = beeps_asked(gpio_indicator)
    gpio_indicator.show(IndicatorState.PASS)
    assert green.state == 1
    assert red.state == 0
    assert eventually(lambda: levels(buzzer)[-2:] == [1, 0])
    assert asked == [0.02]  # short_beep_s
    assert green.state == 1  # the light stays on after the beep


def test_deny_is_red_and_a_long_beep(mock_pins, gpio_indicator):
    green, red, buzzer = (mock_pins.pin(n) for n in (23, 24, 25))
    asked = beeps_asked(gpio_indicator)
    gpio_indicator.show("deny")
    assert red.state == 1
    assert green.state == 0
    assert eventually(lambda: levels(buzzer)[-2:] == [1, 0])
    assert asked == [0.06]  # long_beep_s


@pytest.mark.parametrize("state", [IndicatorState.TRY_AGAIN, IndicatorState.OFFLINE])
def test_try_again_and_offline_blink_red(mock_pins, gpio_indicator, state):
    green, red = mock_pins.pin(23), mock_pins.pin(24)
    gpio_indicator.show(state)
    assert eventually(lambda: len(levels(red)) >= 5)
    assert green.state == 0


def test_offline_blinks_slower_than_try_again(mock_pins, gpio_indicator):
    red = mock_pins.pin(24)
    asked: list[float] = []
    blink = gpio_indicator.red.blink

    def recording(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["on_time"])
        return blink(*args, **kwargs)

    gpio_indicator.red.blink = recording  # the half-periods as asked, not timed on a loaded machine
    for state in ("try_again", "offline"):
        red.clear_states()
        gpio_indicator.show(state)
        assert eventually(lambda: len(red.states) >= 4)
        gpio_indicator.show("idle")
    assert asked == [0.01, 0.02]  # blink_s, slow_blink_s


def test_new_state_replaces_the_old(mock_pins, gpio_indicator):
    green, red, buzzer = (mock_pins.pin(n) for n in (23, 24, 25))
    gpio_indicator.show("try_again")
    gpio_indicator.show("idle")
    time.sleep(0.03)  # a leftover blink thread would toggle the red pin within 10 ms
    assert red.state == 0
    assert green.state == 0
    assert buzzer.state == 0
    assert gpio_indicator.state is IndicatorState.IDLE


def test_unknown_state_is_rejected():
    with pytest.raises(ValueError, match="party"):
        ConsoleIndicator().show("party")


def test_console_indicator_records():
    indicator = ConsoleIndicator()
    indicator.show("checking")
    indicator.show(IndicatorState.PASS)
    assert indicator.states == [IndicatorState.CHECKING, IndicatorState.PASS]
    assert indicator.state == "pass"


# -- triggers --------------------------------------------------------------------------------------


def test_button_fires_on_press_edge(mock_pins):
    trigger = ButtonTrigger(ButtonTriggerConfig(pin=27, bounce_time_s=None))
    pin = mock_pins.pin(27)
    assert trigger.wait(0) is False
    pin.drive_low()  # pressed (pull-up, button to ground)
    assert trigger.wait(0) is True
    assert trigger.wait(0) is False  # holding does not repeat
    pin.drive_high()
    pin.drive_low()
    assert trigger.wait(0.5) is True
    trigger.release()


def test_button_wakes_a_blocked_waiter(mock_pins):
    trigger = ButtonTrigger(ButtonTriggerConfig(pin=27, bounce_time_s=None))
    pin = mock_pins.pin(27)
    timer = threading.Timer(0.02, pin.drive_low)
    timer.start()
    assert trigger.wait(2.0) is True  # woken by the press, not timed out
    timer.join()


def test_release_wakes_waiters_with_false():
    trigger = ManualTrigger()
    threading.Timer(0.02, trigger.release).start()
    assert trigger.wait(2.0) is False


def test_manual_trigger():
    trigger = ManualTrigger()
    assert trigger.wait(0.01) is False
    trigger.fire()
    trigger.fire()
    assert trigger.wait(0) is True
    assert trigger.wait(0) is False  # presses do not queue


def test_timed_trigger_ticks():
    trigger = TimedTrigger(TimedTriggerConfig(interval_s=0.05))
    assert trigger.wait(0.01) is False
    assert trigger.wait() is True  # its interval is pinned on a fake clock below
    trigger.release()
    assert trigger.wait() is False


def test_timed_trigger_does_not_catch_up():
    now = [100.0]
    trigger = TimedTrigger(TimedTriggerConfig(interval_s=5), clock=lambda: now[0])
    now[0] = 117.0  # a slow check overran three ticks
    assert trigger.wait(0) is True
    assert trigger.wait(0) is False  # next tick is a full interval away, not immediately


class FakeDistance:
    def __init__(self, values: list[float]) -> None:
        self.values = values

    @property
    def distance(self) -> float:
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


def test_distance_trigger_fires_once_per_approach():
    sensor = FakeDistance([1.5, 1.0, 0.5, 0.4, 0.5, 0.7, 0.9, 0.5])
    trigger = DistanceTrigger(DistanceTriggerConfig(threshold_m=0.6, poll_s=0.001), sensor=sensor)
    assert trigger.wait(1.0) is True
    assert sensor.values == [0.4, 0.5, 0.7, 0.9, 0.5]
    assert trigger.wait(1.0) is True  # 0.4/0.5/0.7 still present; 0.9 >= 0.8 re-arms; 0.5 fires
    assert sensor.values == [0.5]
    assert trigger.wait(0.02) is False  # still standing there


def test_distance_config_validation():
    with pytest.raises(ValueError, match="threshold_m"):
        DistanceTriggerConfig(threshold_m=2.5, max_distance_m=2.0)
