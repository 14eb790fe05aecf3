"""Checking a voice before a session uses it, so a wrong one is neither spoken with nor
remembered, and one remembered from before that has gone (an OS upgrade) is let go."""

from __future__ import annotations

from contextlib import suppress

from assistant.errors import AudioUnavailable
from assistant.memory.store import Memory, MemoryUnavailable
from assistant.session.dialog import Dialog


def check_voice(spec: str) -> bool:
    """Raise UnknownVoice (one line naming `massage-assistant voices`) when no engine has
    such a voice; False when there is no engine to check against (lines are printed then,
    and a voice nobody could check must not be remembered).

    A `piper:` voice is checked by name only: when its packages do not load, the session
    falls back to the system voice with a notice, and the choice stays for next time."""
    from assistant.speech.voice_names import PIPER, UnknownVoice, parse_voice

    if parse_voice(spec).engine == PIPER:
        from assistant.adapters.piper_tts import is_known

        if not is_known(spec):
            raise UnknownVoice(spec)
        return True
    from assistant.adapters.pyttsx3_tts import Pyttsx3Renderer

    try:
        renderer = Pyttsx3Renderer()
    except AudioUnavailable:
        return False
    try:
        renderer.resolve_voice(spec)
    finally:
        renderer.close()
    return True


def installed_voice(
    voice: str | None, memory: Memory | None, dialog: Dialog
) -> tuple[str | None, str | None]:
    """(`voice`, None) when it is installed; else (None, a one-line notice) with the voice
    forgotten (when there is memory), so the default voice speaks now and next time. An
    empty preference means none: memory has no way to delete a key."""
    from assistant.speech.voice_names import UnknownVoice

    if not voice:
        return None, None
    try:
        check_voice(voice)
    except UnknownVoice:
        if memory is not None:
            # Unwritable memory: the default voice is used now all the same.
            with suppress(MemoryUnavailable):
                memory.save_preferences({"voice": ""})
        return None, dialog.line("notice.voice_gone", voice=voice)
    return voice, None
