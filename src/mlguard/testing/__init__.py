"""Test and demo helpers: fakes for offline runs. Never imported by the scanner's product code."""
