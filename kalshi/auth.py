"""Kalshi request signing (client side) and verification (simulated exchange side).

RSA-PSS, SHA-256, MGF1(SHA-256), salt = digest length, over
`timestamp_ms + METHOD + path` where path includes /trade-api/v2 and has no query.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "PrivateKeyError",
    "load_private_key",
    "Signer",
    "verify_signature",
    "signing_path",
    "generate_key_pair",
    "HEADER_KEY",
    "HEADER_TIMESTAMP",
    "HEADER_SIGNATURE",
]

HEADER_KEY = "KALSHI-ACCESS-KEY"
HEADER_TIMESTAMP = "KALSHI-ACCESS-TIMESTAMP"
HEADER_SIGNATURE = "KALSHI-ACCESS-SIGNATURE"

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


class PrivateKeyError(ValueError):
    """The private key could not be loaded (bad PEM, wrong type, missing file)."""


def load_private_key(pem_or_path: str | bytes) -> rsa.RSAPrivateKey:
    """Accept PEM text (PKCS#8 or PKCS#1) or a path to a PEM file."""
    data: bytes
    if isinstance(pem_or_path, bytes):
        data = pem_or_path
    elif "-----BEGIN" in pem_or_path:
        data = pem_or_path.encode()
    else:
        path = Path(pem_or_path).expanduser()
        if not path.is_file():
            raise PrivateKeyError(f"private key file not found: {path}")
        data = path.read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise PrivateKeyError(f"private key is not a readable unencrypted PEM RSA key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PrivateKeyError("private key is not an RSA key")
    return key


def signing_path(url_or_path: str) -> str:
    """The part of a URL that is signed: the path only, no query string."""
    return urlsplit(url_or_path).path


class Signer:
    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey) -> None:
        self.key_id = key_id
        self._key = private_key

    def sign(self, timestamp_ms: int, method: str, path: str) -> str:
        message = f"{timestamp_ms}{method.upper()}{signing_path(path)}".encode()
        return base64.b64encode(self._key.sign(message, _PSS, hashes.SHA256())).decode()

    def headers(self, timestamp_ms: int, method: str, path: str) -> dict[str, str]:
        return {
            HEADER_KEY: self.key_id,
            HEADER_TIMESTAMP: str(timestamp_ms),
            HEADER_SIGNATURE: self.sign(timestamp_ms, method, path),
        }

    def __repr__(self) -> str:  # never print key material
        return f"Signer(key_id={self.key_id!r})"


def verify_signature(
    public_key: rsa.RSAPublicKey, timestamp_ms: str, method: str, path: str, signature_b64: str
) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        message = f"{timestamp_ms}{method.upper()}{signing_path(path)}".encode()
        public_key.verify(signature, message, _PSS, hashes.SHA256())
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def generate_key_pair(directory: Path, key_id: str = "paper-key") -> tuple[Path, Path]:
    """Create an RSA key pair for paper mode (private 0600). Returns (private, public)."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / f"{key_id}.pem"
    public_path = directory / f"{key_id}.pub.pem"
    if private_path.exists() and public_path.exists():
        return private_path, public_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path
