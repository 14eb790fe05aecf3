"""The commands the command line offers, one module each; cli.py parses and dispatches."""
