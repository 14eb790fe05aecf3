"""User-facing errors: each says what went wrong and what to do, never a traceback."""


class AssistantError(Exception):
    """Base for errors shown to the user as one clear message."""


class DataFileError(AssistantError):
    """A routine, dialog or vocabulary file is broken; the message names file and field."""


class AudioUnavailable(AssistantError):
    """No usable sound device or engine; the session falls back to text."""


class EngineUnavailable(AudioUnavailable):
    """A speech engine that loads in the background could not load: every line given to
    it fails with this, so another engine can speak them instead."""


class ModelMissing(AssistantError):
    """A recognizer model is not where it was looked for; says how to fetch it."""


def one_line(text: object) -> str:
    """Text from a file, quoted in an error: line breaks and other control characters
    escaped, so the message stays the one line it promises to be."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))
