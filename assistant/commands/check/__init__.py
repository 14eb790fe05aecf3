"""`massage-assistant check`: the first-run sound check, before oiling the hands."""
