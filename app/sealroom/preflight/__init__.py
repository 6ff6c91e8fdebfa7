"""Preflight checks of the machine a ceremony runs on: air gap, image, software, devices, clock."""
