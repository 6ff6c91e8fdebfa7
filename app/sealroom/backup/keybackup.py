"""The KeyBackup port: KEKs (kek.py), the blob file (blob.py), backup media folders, sign checks."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from sealroom.backup.blob import blob_for, decode_blob, encode_blob, wrapped_key_of
from sealroom.backup.errors import BackupError
from sealroom.backup.kek import kek_check_value, new_kek
from sealroom.ceremony.ports import BackupBlob, WrappedKey
from sealroom.errors import OutputExistsError

if TYPE_CHECKING:
    from sealroom.ceremony.ports import KeyBackup

_HASHES: Mapping[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}


class MediaError(BackupError):
    """A backup medium cannot be written or read (its folder, the file, the device)."""


class FolderKeyBackup:
    """KEKs and blobs of backup/, written to one folder per medium material.

    ``media`` maps each media material id of the script to the folder where that medium is
    mounted (production: ``sealroom run --media ID=PATH``; rehearsal: ``DIR/media/<id>/``).
    """

    def __init__(self, media: Mapping[str, Path]) -> None:
        self.media = dict(media)

    def new_kek(self, hsm_random: Callable[[int], bytes]) -> bytearray:
        return new_kek(hsm_random)

    def check_value(self, kek: bytes | bytearray) -> str:
        return kek_check_value(kek)

    def encode(self, wrapped: WrappedKey, check_value: str, certificate_der: bytes | None) -> bytes:
        return encode_blob(
            blob_for(wrapped, kek_check_value=check_value, certificate_der=certificate_der)
        )

    def decode(
        self,
        data: bytes,
        where: str,
        *,
        key_id: str,
        certificate_der: bytes | None,
        spki_der: bytes,
    ) -> BackupBlob:
        blob = decode_blob(data, where=where)
        wrapped = wrapped_key_of(
            blob, key_id=key_id, certificate_der=certificate_der, spki_der=spki_der, where=where
        )
        return BackupBlob(wrapped, blob.kek_check_value, blob.certificate_sha256, blob.version)

    def _folder(self, material: str) -> Path:
        folder = self.media.get(material)
        if folder is None:
            given = ", ".join(sorted(self.media)) or "none"
            raise MediaError(
                f"No folder is given for the backup medium {material!r} (given: {given}); "
                f"mount it and name it with --media {material}=PATH."
            )
        if not folder.is_dir():
            raise MediaError(
                f"The folder {folder} of the backup medium {material!r} does not exist; is the "
                "medium mounted?"
            )
        return folder

    def write_medium(self, material: str, name: str, data: bytes) -> str:
        """Write ``name`` once (O_EXCL), fsync it and its folder; never over an existing file."""
        path = self._folder(material) / name
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError as exc:
            raise OutputExistsError(
                f"{path} already exists on the backup medium {material!r}; Sealroom never "
                "overwrites a backup. Use a new medium."
            ) from exc
        except OSError as exc:
            raise MediaError(
                f"Cannot write {path} on medium {material!r}: {exc.strerror}."
            ) from exc
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError as exc:
            raise MediaError(
                f"Writing {path} on medium {material!r} failed: {exc.strerror}."
            ) from exc
        finally:
            os.close(fd)
        try:
            folder_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(folder_fd)
            finally:
                os.close(folder_fd)
        except OSError:
            pass  # some file systems (e.g. vfat) cannot fsync a directory; the file is synced
        return str(path)

    def read_medium(self, material: str, name: str) -> bytes:
        path = self._folder(material) / name
        try:
            return path.read_bytes()
        except OSError as exc:
            raise MediaError(f"Cannot read {path} on medium {material!r}: {exc.strerror}.") from exc

    def discard_medium(self, material: str, name: str, sha256: str) -> str | None:
        """Overwrite with zeros, fsync and delete ``name`` if it is the blob with ``sha256``.

        Flash media remap blocks, so the zeros are best effort: the share sheets of an abandoned
        backup are destroyed as well (the engine asks for that), which is what makes it useless.
        """
        path = self._folder(material) / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise MediaError(f"Cannot read {path} on medium {material!r}: {exc.strerror}.") from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            raise MediaError(
                f"{path} on medium {material!r} is not the blob this ceremony wrote (its SHA-256 "
                "differs); it was left untouched. Remove the medium and use a new one."
            )
        try:
            fd = os.open(path, os.O_WRONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                os.write(fd, bytes(len(data)))
                os.fsync(fd)
            finally:
                os.close(fd)
            path.unlink()
        except OSError as exc:
            raise MediaError(
                f"Cannot destroy {path} on medium {material!r}: {exc.strerror}."
            ) from exc
        return str(path)

    def signature_valid(
        self,
        public_der: bytes,
        message: bytes,
        signature: bytes,
        hash_name: Literal["sha256", "sha384", "sha512"],
    ) -> bool:
        public: object
        try:
            public = x509.load_der_x509_certificate(public_der).public_key()
        except ValueError:
            try:
                public = serialization.load_der_public_key(public_der)
            except ValueError as exc:
                raise BackupError(
                    "The public key to verify the restore test with cannot be read."
                ) from exc
        try:
            if isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, message, padding.PKCS1v15(), _HASHES[hash_name])
            elif isinstance(public, ec.EllipticCurvePublicKey):
                public.verify(signature, message, ec.ECDSA(_HASHES[hash_name]))
            elif isinstance(public, ed25519.Ed25519PublicKey):
                public.verify(signature, message)
            else:
                return False
        except InvalidSignature:
            return False
        return True


if TYPE_CHECKING:

    def _implements_the_port(kit: FolderKeyBackup) -> KeyBackup:
        return kit  # mypy proves FolderKeyBackup satisfies the KeyBackup Protocol
