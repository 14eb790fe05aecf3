"""Barge-in: notice the user talking over the assistant within about 100 ms.

Why: a recognizer cannot hear "stop" well under the assistant's own voice, and waiting
for it to decide costs a second or more. What the echo canceller leaves is mostly the
user: when it is loud, and loud against the microphone signal, someone other than the
assistant is talking. The listener then holds the assistant's speech at once, so the
rest of the word reaches the recognizer clean; the recognizer decides what it was, and
speech resumes (from the start of the word it was held in) if it was nothing.

The same evidence keeps the assistant from obeying itself: while it talks, a command
counts only if a barge-in was noticed around it, since its own voice, however misheard,
is what the canceller takes out.

Tuned on room recordings (a simulated user saying commands over a whole routine, 21
utterances): 6 of 10 frames at -45 dBFS and at most 10 dB under the microphone found
all of them, 70 ms median after their start, with false detections only where the
canceller had not yet learnt the echo or had just lost it (which `trusted` excludes).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from assistant.listening.background_talk import BackgroundTalk

FRAME_S = 0.01
"""The canceller's frame, over which each judgement is made."""


@dataclass(frozen=True)
class BargeInSettings:
    min_level_db: float = 45.0
    """Cleaned signal level (dB of int16 RMS; 45 is -45 dBFS) below which it is not speech."""
    min_ratio_db: float = -10.0
    """While the assistant is audible: cleaned over microphone energy. Its own voice alone
    is cancelled 20-40 dB down; the user's voice passes nearly whole."""
    frames_needed: int = 6
    window_frames: int = 10
    """Speech in `frames_needed` of the last `window_frames` canceller frames (10 ms)."""
    diverging_db: float = 15.0
    diverging_hold_frames: int = 30
    """A frame where what is left is `diverging_db` louder than the microphone: the
    filter is adding sound of its own, not taking the echo out, and the frames around it
    are its leftovers, not the user. Nothing counts as speech until `diverging_hold_frames`
    later. Seen in the room as a line began after a stop: the ratio rose to about 0 dB
    over 0.1 s, then one frame at +25 to +40 dB, about 0 dB again for 0.1 s, and the
    line was held for nothing (4 to 7 times in 30 stop trials). Restarting the count only
    still let 6 of 15 such holds through, 0-120 ms after the frame; of 90 real
    barge-ins, one had such a frame in the 0.6 s before, 340 ms before, and none was
    above +10 dB in the 0.2 s before."""
    background_seconds: float = 8.0
    """How many seconds of frames without the assistant's sound are looked back on for
    talk in the background (a TV). A held line is silent, and the TV, louder than
    `min_level_db`, kept it held: at -38 dBFS, a TV next door held the assistant three
    seconds at a time, 165 times in a 20-minute soak."""
    background_from_s: float = 2.0
    """The background is judged once this much is looked back on."""
    background_share: float = 0.2
    background_margin_db: float = 9.0
    """Talk is in the background when at least `background_share` of those frames
    reached `min_level_db`; then speech must be `background_margin_db` over their median
    level (the user is nearer than the TV). Measured on the soak's TV programme (524 s,
    -38 dBFS) with 80 real "stop" clips laid over it at their recorded levels, a user
    noticed with the assistant silent: no gate, the TV taken for a user 140 times a minute,
    every stop noticed; (0.5, 6 dB), the endpointer's, the same (a TV pauses: 43% of its
    frames reach -45 dBFS); (0.3, 6) 16 a minute, 79 of 80; (0.2, 9) 3 a minute, 76 of
    80; the 90th percentile of all frames + 3 dB, 10 a minute, 80 of 80, but one
    "stop" would then raise the bar for the next word a user says over the assistant."""
    settle_s: float = 1.5
    """How long the canceller learns the echo before its output is trusted."""
    release_after_s: float = 0.7
    """A held line resumes after this long with no user speech (time to recognize)."""
    max_hold_s: float = 3.0
    """A held line resumes after this long whatever is heard (noise must not mute it)."""
    heard_on_frames: int = 3
    """Frames of the user's voice, with none of the assistant's sound left to cancel,
    that show a held line was held for the user: they go on talking once it is quiet,
    while the canceller's leftovers end with the line. Only then may a command other
    than an urgent one act over the line (`CommandSpotter.confirm_barge_in`): early in a
    session, under load, a filter still learning left word onsets 6-8 dB under the
    microphone, the line was held for nothing, and pocketsphinx made "softer" of the
    leftovers (it acted). Replayed captures: 3 false holds at the start of a routine
    had 0 such frames in the 0.8 s after the hold; 21 stops said over the assistant in
    the room 8-26; the soak's two "resume" said over the answer 20 and 21, its stops 1
    and 10 (urgent commands need no such proof), its false holds over a TV 0 or 1.
    Not a reason to end a hold sooner: tried (after 0.3 s), in a soak a real "stop" said
    over a line (-31 dBFS, a TV on) was noticed 0.1 s before its voice ended, and the
    line was already going quiet: nothing was heard after, the line came back, and it
    spoke on for 0.1 s after the "stop" until the stop spotter caught it."""


def background_talk(settings: BargeInSettings) -> BackgroundTalk:
    """Talk in the background as barge-in judges it, over 10 ms frames."""
    return BackgroundTalk(round(settings.background_seconds / FRAME_S),
                          settings.background_share,
                          least=round(settings.background_from_s / FRAME_S))


class SpeechOverEcho:
    """Per canceller frame: is the user speaking? Used on the listener thread only."""

    def __init__(self, settings: BargeInSettings | None = None) -> None:
        self.settings = settings or BargeInSettings()
        self._recent: deque[bool] = deque(maxlen=self.settings.window_frames)
        self._count = 0
        self._diverged = 0
        """Frames left during which nothing counts (the filter diverged)."""
        self._background = background_talk(self.settings)
        self.speaking = False
        self.voiced = False
        """The last frame alone was judged the user's voice."""

    def frame(self, cleaned: float, mic: float, samples: int, echo: bool, trusted: bool) -> bool:
        """`cleaned` and `mic` are the frame's energies (sum of squares, int16 units);
        `echo` whether the assistant is audible in it, `trusted` whether the canceller
        has learnt the echo well enough to tell."""
        s = self.settings
        level = 10 * math.log10(cleaned / samples + 1.0)
        ratio = 10 * math.log10((cleaned + samples * 100.0) / (mic + samples * 100.0))
        if echo and ratio >= s.diverging_db:
            self._recent.clear()
            self._count = 0
            self._diverged = s.diverging_hold_frames
        floor = self._background.level() if level >= s.min_level_db else None
        if not echo:
            self._background.remember(level, level >= s.min_level_db)
        if self._diverged > 0:
            self._diverged -= 1
            self.speaking = self.voiced = False
            return False
        loud = level >= s.min_level_db and (
            floor is None or level >= floor + s.background_margin_db)
        voiced = loud and (not echo or (trusted and ratio >= s.min_ratio_db))
        if len(self._recent) == self._recent.maxlen:
            self._count -= self._recent[0]
        self._recent.append(voiced)
        self.voiced = voiced
        self._count += voiced
        self.speaking = self._count >= s.frames_needed
        return self.speaking
