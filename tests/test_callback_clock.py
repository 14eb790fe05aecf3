"""The stream clock mapping: a callback that got the GIL late must not move its stamps."""

from __future__ import annotations

import pytest

from assistant.adapters.callback_clock import CallbackClock

OFFSET = 1000.0
"""time.monotonic() minus PortAudio's clock, as a host API might have it."""


def test_a_late_callback_stamps_as_an_early_one() -> None:
    clock = CallbackClock(window_s=1.0)
    stamps = []
    for i, late in enumerate([0.0, 0.012, 0.004, 0.020, 0.0]):
        stream_now = 5.0 + 0.01 * i
        dac = stream_now + 0.06
        stamps.append(clock.to_monotonic(dac, stream_now, stream_now + OFFSET + late) - OFFSET)
    assert stamps == pytest.approx([5.06 + 0.01 * i for i in range(5)])


def test_the_first_callback_is_taken_as_it_comes() -> None:
    clock = CallbackClock()
    assert clock.to_monotonic(2.05, 2.0, 2.0 + OFFSET + 0.003) == pytest.approx(2.053 + OFFSET)


def test_a_stepped_clock_is_followed_within_two_windows() -> None:
    """A host clock stepped back (say by NTP) makes the old, smaller offset wrong for good.
    (Stepped forward, the new offset is the smaller one and is taken at once.)"""
    clock = CallbackClock(window_s=1.0)
    t = 0.0
    while t < 3.0:
        clock.to_monotonic(t, t, t + OFFSET)
        t += 0.01
    step = -0.5
    errors = []
    while t < 6.0:
        errors.append(clock.to_monotonic(t + step, t + step, t + OFFSET) - (t + OFFSET))
        t += 0.01
    assert errors[0] == pytest.approx(step)
    assert errors[-1] == pytest.approx(0.0)
    settled_after = next(i for i, e in enumerate(errors) if abs(e) < 1e-9) * 0.01
    assert settled_after <= 2.0
