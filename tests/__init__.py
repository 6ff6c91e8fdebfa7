"""Sealroom's tests."""
