"""User-facing errors: each says what went wrong and what to do, never a traceback."""


class AssistantError(Exception):
    """Base for errors shown to the user as one clear message."""


class DataFileError(AssistantError):
    """A routine, dialog or vocabulary file is broken; the message names file and field."""


class AudioUnavailable(AssistantError):
    """No usable sound device or engine; the session falls back to text."""


class ModelMissing(AssistantError):
    """A recognizer model is not where it was looked for; says how to fetch it."""
