"""Memory between sessions: the SQLite store, what a session records, what a start takes."""
