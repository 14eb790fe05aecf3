"""Shared fixtures: the virtual room lives in tests/room.py."""

pytest_plugins = ["tests.room"]
