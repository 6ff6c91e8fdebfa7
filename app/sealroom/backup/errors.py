"""Errors of the backup package: share sets, share entry and secrets for PINs and keys."""

from __future__ import annotations

from sealroom.errors import SealroomError


class BackupError(SealroomError):
    """A share set, a PIN secret or a backup cannot be made or used as asked.

    Like every SealroomError, the message never contains a share word, a PIN or key material.
    """


class ShareRejected(BackupError):
    """A custodian's share was refused, or the shares entered do not give back the right secret.

    The message names the custodian and what is wrong with the entry (a word's position, the
    word count, the set identifier, ...), never a word.
    """


class SharesIncomplete(BackupError):
    """The secret was asked for before enough custodians had entered their shares."""
