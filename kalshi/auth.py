"""Kalshi request signing (client side) and verification (simulated exchange side).

RSA-PSS, SHA-256, MGF1(SHA-256), salt = digest length, over
`timestamp_ms + METHOD + path` where path includes /trade-api/v2 and has no query.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import stat
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
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
    """The private key could not be loaded. The message names where the key came from and what
    form was expected, never any part of the value given (that value may be the key itself)."""


EXPECTED_KEY_FORM = (
    "expected PEM text (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----) "
    "or a path to a PEM file"
)
OWNER_ONLY = 0o077  # mode bits a private key file must not have: any group or world access
MAX_KEY_FILE_BYTES = 1 << 20
_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,40})-----")
_PRIVATE_LABELS = (b"PRIVATE KEY", b"RSA PRIVATE KEY", b"ENCRYPTED PRIVATE KEY")
_NAMED_LABELS = {  # labels of other PEM blocks a user may give by mistake, named in the message
    b"PUBLIC KEY": "a public key, not the private key",
    b"RSA PUBLIC KEY": "a public key, not the private key",
    b"CERTIFICATE": "a certificate, not the private key",
    b"OPENSSH PRIVATE KEY": "an OpenSSH-format key, not a PEM private key",
    b"EC PRIVATE KEY": "an EC key; Kalshi API keys are RSA",
}
_BASE64_BODY = re.compile(rb"[A-Za-z0-9+/=\s]{64,}")


def load_private_key(
    pem_or_path: str | bytes | os.PathLike[str], *, source: str = "private key", forbidden_mode: int = OWNER_ONLY
) -> rsa.RSAPrivateKey:
    """Accept PEM text (PKCS#8 or PKCS#1, unencrypted RSA) or a path to a PEM file whose mode
    has none of `forbidden_mode` (by default: readable by its owner only, as ssh requires).

    `source` names the value in error messages (an environment variable, a credential).
    Hazard: the value may be key material (a PEM body without its header, a pasted key), so
    every failure is a PrivateKeyError raised outside any `except` (no chained exception holds
    the value) whose message never quotes it; a path is named only once it exists.
    """
    if isinstance(pem_or_path, bytes):
        data = pem_or_path
    elif isinstance(pem_or_path, str) and "-----BEGIN" in pem_or_path:
        data = pem_or_path.encode("utf-8", "surrogateescape")  # env values may hold undecodable bytes
    else:
        data = _read_key_file(pem_or_path, source, forbidden_mode)
    return _parse_private_key(data, source)


def _existing_path(text: str) -> tuple[Path | None, os.stat_result | None]:
    """The path `text` names and its status, or (None, None) when it names nothing."""
    try:
        path = Path(text).expanduser()
        return path, path.stat()
    except (OSError, ValueError, RuntimeError):  # missing, name too long, NUL byte, unknown ~user
        return None, None


def _read_key_file(value: str | os.PathLike[str], source: str, forbidden_mode: int) -> bytes:
    text = value.strip() if isinstance(value, str) else os.fspath(value)
    if not text:
        raise PrivateKeyError(f"{source} is empty: {EXPECTED_KEY_FORM}")
    path, status = _existing_path(text)
    if path is None or status is None:
        raise PrivateKeyError(f"{source} is neither PEM text nor the path of an existing file"
                              f"{_headerless_hint(text.encode('utf-8', 'surrogateescape'))}: {EXPECTED_KEY_FORM}")
    if stat.S_ISDIR(status.st_mode):
        raise PrivateKeyError(f"{source} names a directory ({path}), not a PEM file: {EXPECTED_KEY_FORM}")
    if not stat.S_ISREG(status.st_mode):
        raise PrivateKeyError(f"{source} names {path}, which is not a regular file: {EXPECTED_KEY_FORM}")
    mode = stat.S_IMODE(status.st_mode)
    if mode & forbidden_mode:
        raise PrivateKeyError(
            f"{source}: permissions {mode:04o} for {path} are too open: a private key file must be "
            f"readable by its owner only (0600 or stricter); run: chmod 600 {shlex.quote(str(path))}"
        )
    if status.st_size > MAX_KEY_FILE_BYTES:
        raise PrivateKeyError(f"{source}: {path} is too large to be a PEM key file: {EXPECTED_KEY_FORM}")
    reason = ""
    try:
        return path.read_bytes()
    except OSError as exc:  # its text names the file: keep only the reason
        reason = exc.strerror or type(exc).__name__
    raise PrivateKeyError(f"{source}: cannot read {path}: {reason}")


def _headerless_hint(data: bytes) -> str:
    if _BASE64_BODY.fullmatch(data.strip()):
        return " (it looks like the base64 body of a key without its -----BEGIN and -----END lines)"
    return ""


def _parse_private_key(data: bytes, source: str) -> rsa.RSAPrivateKey:
    label = _PEM_LABEL.search(data)
    if label is None:
        raise PrivateKeyError(f"{source} holds no PEM block (no -----BEGIN <label>----- line){_headerless_hint(data)}: "
                              f"{EXPECTED_KEY_FORM}")
    if label.group(1) not in _PRIVATE_LABELS:
        what = _NAMED_LABELS.get(label.group(1), "a PEM block that is not a private key")
        raise PrivateKeyError(f"{source} holds {what}: {EXPECTED_KEY_FORM}")
    problem = ""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # cryptography's signal for a passphrase-protected key
        problem = ("is encrypted with a passphrase: store it decrypted "
                   "(openssl pkey -in encrypted.pem -out key.pem) with mode 0600")
    except (ValueError, UnsupportedAlgorithm):  # their text may quote the data: never passed on
        problem = "holds PEM text that is not a readable private key (damaged, truncated or an unknown format)"
        if b"\\n" in data and b"\n" not in data.strip():
            problem += "; its line breaks are written as \\n instead of real new lines"
    if problem:
        raise PrivateKeyError(f"{source} {problem}: {EXPECTED_KEY_FORM}")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PrivateKeyError(f"{source} holds a private key that is not RSA; Kalshi API keys are RSA")
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
    """Create an RSA key pair for paper mode, or keep the pair already there. Returns (private,
    public). The folder is made 0700 and the private key 0600, an existing pair's included (a
    folder or key written before this rule, or by hand, may be readable by others)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    private_path = directory / f"{key_id}.pem"
    public_path = directory / f"{key_id}.pub.pem"
    if private_path.exists() and public_path.exists():
        os.chmod(private_path, stat.S_IMODE(private_path.stat().st_mode) & ~OWNER_ONLY)
        return private_path, public_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # written whole to a new 0600 file, then renamed over any old one: opening an existing
    # file would keep its old (maybe wider) mode, and a crash would leave half a key
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{key_id}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        os.replace(temporary, private_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_path, public_path
