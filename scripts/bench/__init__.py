"""The benchmark's parts, by what they measure (scripts/benchmark.py puts them together).

- `clips`: offline, the recognizer alone on short clips: accuracy per intent, false
  accepts, false activations in ordinary speech.
- `streams`: continuous streams of real clips (scripts/stream_metrics.py does the work).
- `room_bench`: the live half's means: the private room, the program launched in it, the
  simulated user, and finding sounds in the room's recording.
- `latencies`: trials in the room: stop, cut-off, acknowledgement, a real "stop" in quiet.
- `resources`: CPU and memory of the program and its recognizer.
- `live`: the live run: its phases in order, self-triggers and the first word.
- `soak`, `soak_run`, `soak_score`: the soak run (`--soak`): driving the room, scoring.
- `metric`, `interrupt`: a table row, and Ctrl-C that still stops the room.
"""
