"""Helpers for testing mlguard and policies written for it (golden cases, fakes for the demo)."""
