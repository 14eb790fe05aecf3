"""Everything the assistant sends to the speakers: rendered speech, chimes, one player."""
