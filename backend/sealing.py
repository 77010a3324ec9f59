"""Secrets Vigie must be able to give back (a webhook's signing secret), kept sealed in the database.

They cannot be hashed like a password or an API key: Vigie signs with them. So a copy of the
database (a backup, a dump sent for support) must not carry them readable: each is sealed with
Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the install's secret key
(`VIGIE_SECRET_KEY`, or the one generated under `var_dir`), which never lives in the database.
After the secret key changes, `VIGIE_PREVIOUS_SECRET_KEYS` keeps the former ones able to open
what they sealed.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "sealed:v1:"
# One derived key per use: a key that leaked from one use opens nothing of another.
PURPOSE = b"vigie sealed secrets v1"


class Unreadable(Exception):
    """Sealed under a key this install no longer has."""


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


class Sealer:
    def __init__(self, secret_key: str, previous_keys: list[str] | tuple[str, ...] = ()):
        self._fernet = MultiFernet([_fernet(secret_key), *(_fernet(key) for key in previous_keys)])

    def __repr__(self) -> str:
        return "<Sealer>"

    def seal(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        if not is_sealed(stored):
            return stored  # written before sealing existed; `vigie db upgrade` seals it
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise Unreadable("sealed under another secret key (set VIGIE_PREVIOUS_SECRET_KEYS)") from None


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)
