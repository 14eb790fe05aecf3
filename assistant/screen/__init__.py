"""The live terminal screen during a session; plain lines stay the fallback."""
