"""`python -m assistant` runs the same CLI as `massage-assistant`."""

from assistant.cli import main

main()
