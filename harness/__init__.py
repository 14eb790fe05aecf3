"""The test harness the tests and the benchmark share: not part of the program.

- `room`: a private PulseAudio server whose null sink is the air (speakers and
  microphone), with a timed recording of everything played into it.
- `speech_samples`: audio to recognize: real clips from ../shared, synthetic voices
  (espeak-ng, Piper), noise, and streams laid end to end.
- `live_session`: the real `massage-assistant start` run in the room, with a simulated
  user speaking into it.

Imported from the project root, like `tests` (pytest and the scripts put it on sys.path);
it is left out of the installed package.
"""
