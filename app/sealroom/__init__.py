"""Sealroom: an air-gapped workstation for root certificate authority key ceremonies."""

__version__ = "0.1.0"
