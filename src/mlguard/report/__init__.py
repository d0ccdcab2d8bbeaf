"""Reporters: render a ScanResult into SARIF, HTML, JSON, JUnit, Markdown, CSV or the console."""
