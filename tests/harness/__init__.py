"""The test harness the tests and the benchmark share: not part of the program.

- `room`: a private PulseAudio server whose null sink is the air (speakers and
  microphone), with a timed recording of everything played into it.
- `speech_samples`: audio to recognize: real clips from ../shared, synthetic voices
  (espeak-ng, Piper), noise, and streams laid end to end.
- `live_session`: the real `massage-assistant start` run in the room, with a simulated
  user speaking into it.

It lives inside the `tests` package so that the project's top level stays as it is
(`tests.harness`: the scripts import it from the project root, as pytest does); it is
left out of the installed package. The benchmark imports the harness, never a test file.
"""
