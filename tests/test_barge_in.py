"""The barge-in detector's rule on canceller frames (logic only, scripted energies)."""

from __future__ import annotations

from assistant.listening.barge_in import BargeInSettings, SpeechOverEcho

N = 160


def energy(dbfs: float) -> float:
    """Sum of squares of a 10 ms frame at this RMS level (dB re int16 full scale)."""
    return N * (32768 * 10 ** (dbfs / 20)) ** 2


def run(detector: SpeechOverEcho, frames: int, cleaned: float, mic: float,
        echo: bool = True, trusted: bool = True) -> list[bool]:
    return [detector.frame(energy(cleaned), energy(mic), N, echo, trusted) for _ in range(frames)]


def test_the_assistants_own_voice_well_cancelled_is_not_the_user() -> None:
    d = SpeechOverEcho()
    assert not any(run(d, 200, cleaned=-50.0, mic=-20.0))


def test_the_user_over_the_assistant_is_noticed_after_frames_needed() -> None:
    d = SpeechOverEcho()
    run(d, 50, cleaned=-50.0, mic=-20.0)
    out = run(d, 10, cleaned=-22.0, mic=-18.0)
    needed = BargeInSettings().frames_needed
    assert out.index(True) == needed - 1
    assert not any(run(d, 20, cleaned=-60.0, mic=-20.0)[needed:]), "and let go after"


def test_an_untrusted_canceller_never_reports_the_user_over_echo() -> None:
    d = SpeechOverEcho()
    assert not any(run(d, 50, cleaned=-20.0, mic=-20.0, trusted=False))


def test_with_the_assistant_quiet_it_is_a_level_detector() -> None:
    d = SpeechOverEcho()
    assert not any(run(d, 30, cleaned=-70.0, mic=-70.0, echo=False))
    assert run(d, 10, cleaned=-30.0, mic=-30.0, echo=False)[-1]


def test_a_filter_adding_sound_is_not_the_user() -> None:
    """Seen in the room as a line began: what is left climbs to the microphone's level,
    then one frame is far louder than the microphone (the filter diverging), then 0.1 s
    more at the microphone's level. Those are leftovers; the user's own voice never left
    more than +10 dB. The user talking on is noticed once the filter has had a moment."""
    d = SpeechOverEcho()
    run(d, 50, cleaned=-50.0, mic=-20.0)
    rising = run(d, 5, cleaned=-32.0, mic=-28.0)
    diverged = run(d, 1, cleaned=-5.0, mic=-35.0)
    after = run(d, 10, cleaned=-30.0, mic=-30.0)
    assert not any(rising + diverged + after)
    assert any(run(d, 30, cleaned=-22.0, mic=-23.0)), "the user, 0.4 s on"
    d = SpeechOverEcho()
    run(d, 50, cleaned=-50.0, mic=-20.0)
    assert any(run(d, 10, cleaned=-22.0, mic=-31.0)), "the user alone over a faint echo: +9 dB"
