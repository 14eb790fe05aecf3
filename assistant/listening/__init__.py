"""Choosing a speech recognizer and running it over audio (live or from a file)."""
