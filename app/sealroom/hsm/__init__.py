"""PKCS#11 adapter: rehearsal tokens, token sessions, key generation and signing inside the HSM."""

from sealroom.hsm.keys import Pkcs11SigningKey
from sealroom.hsm.lock import PKCS11_LOCK
from sealroom.hsm.softhsm import (
    SOFTHSM_MODULE,
    SoftHsmToken,
    activate_softhsm_conf,
    create_rehearsal_token,
)
from sealroom.hsm.token import Pkcs11Hsm
from sealroom.hsm.uri import TokenSelector, token_selector

__all__ = [
    "PKCS11_LOCK",
    "SOFTHSM_MODULE",
    "Pkcs11Hsm",
    "Pkcs11SigningKey",
    "SoftHsmToken",
    "TokenSelector",
    "activate_softhsm_conf",
    "create_rehearsal_token",
    "token_selector",
]
