"""The root certificate issuer: the name the composition root imports (see issuer.py)."""

from sealroom.pki.issuer import HsmCertificateIssuer, RootCertificateIssuer

__all__ = ["HsmCertificateIssuer", "RootCertificateIssuer"]
