"""Virtual PulseAudio room fixture (filled in by the voice-out work)."""
