"""Pilot tests of the terminal UI."""
