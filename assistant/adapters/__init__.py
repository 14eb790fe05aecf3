"""Adapters: each imports exactly one engine library, behind a small interface."""
