"""Certificate profiles and builders (cryptography), signed by keys that stay in the HSM."""

from sealroom.pki.hsm_key import HsmEcPrivateKey, HsmRsaPrivateKey, hsm_private_key
from sealroom.pki.issuer import HsmCertificateIssuer, RootCertificateIssuer

__all__ = [
    "HsmCertificateIssuer",
    "HsmEcPrivateKey",
    "HsmRsaPrivateKey",
    "RootCertificateIssuer",
    "hsm_private_key",
]
