"""Offline, hands-free, voice-guided massage coach."""
