"""Test helpers that ship with mlguard: local fakes of the platforms it scans."""
