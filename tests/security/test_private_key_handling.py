"""The private key never leaks, whatever form it comes in by mistake.

Every wrong form (short garbage, a PEM body without its header, a wrong header, an encrypted
key, a public key, non-UTF-8 bytes, a directory, a missing path, a file others may read) goes
through every entry point (the KALSHI_PRIVATE_KEY variable as text or as a path, a key file,
the systemd credentials directory, the library call, the `mmd start` command line). Each is
refused with one domain error naming the source and the expected form, and no 16-character
fragment of the value shows in the error, its chain, its traceback, stdout, stderr or the log.
Key files must be readable by their owner only; the paper key folder is 0700, its key 0600.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from config import load_config
from kalshi.auth import PrivateKeyError, generate_key_pair, load_private_key
from mmd.runner import StartupError, _credentials_from_env, resolve_endpoint

ROOT = Path(__file__).resolve().parents[2]
FRAGMENT = 16  # no run of this many characters of the value may show anywhere
CREDENTIAL = "kalshi-private-key"
EXPECTED_FORM = "expected PEM text"


# ----- the key material and its wrong forms -----
@pytest.fixture(scope="module")
def material() -> dict[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    plain = serialization.NoEncryption()
    return {
        "pkcs8": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, plain),
        "pkcs1": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, plain),
        "encrypted": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(b"passphrase")),
        "public": key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo),
    }


def body_of(pem: bytes) -> bytes:
    """The base64 lines between a PEM block's -----BEGIN and -----END lines."""
    return b"\n".join(line for line in pem.strip().splitlines() if not line.startswith(b"-----"))


@dataclass(frozen=True)
class WrongContent:
    content: bytes  # what is given as the key, or written into the key file
    secret: bytes  # the part that must never show (header lines are not secret)


GARBAGE = b"Zq9-not-a-key-7Hw-kx"
WRONG_CONTENTS = {  # name -> (material -> WrongContent)
    "short garbage": lambda m: WrongContent(GARBAGE, GARBAGE),
    "long PEM body without header, one line":
        lambda m: WrongContent(body_of(m["pkcs8"]).replace(b"\n", b""), body_of(m["pkcs8"])),
    "long PEM body without header, in lines": lambda m: WrongContent(body_of(m["pkcs8"]), body_of(m["pkcs8"])),
    "wrong header": lambda m: WrongContent(
        b"-----BEGIN SECRET STUFF-----\n" + body_of(m["pkcs8"]) + b"\n-----END SECRET STUFF-----\n",
        body_of(m["pkcs8"])),
    "encrypted key": lambda m: WrongContent(m["encrypted"], body_of(m["encrypted"])),
    "public key instead of the private key": lambda m: WrongContent(m["public"], body_of(m["public"])),
    "non-UTF-8 bytes": lambda m: WrongContent(b"\xff\xfe" + body_of(m["pkcs8"]) + b"\x80\x81", body_of(m["pkcs8"])),
    "non-UTF-8 bytes inside a PEM block": lambda m: WrongContent(
        b"-----BEGIN PRIVATE KEY-----\n\xff" + body_of(m["pkcs8"]) + b"\xfe\n-----END PRIVATE KEY-----\n",
        body_of(m["pkcs8"])),
}
WRONG_CONTENT_NAMES = list(WRONG_CONTENTS)


def wrong_content(material, name: str) -> WrongContent:
    return WRONG_CONTENTS[name](material)


def as_env_text(content: bytes) -> str:
    return content.decode("utf-8", "surrogateescape")  # how Python hands non-UTF-8 environment bytes over


# ----- where a fragment could show -----
def fragments(secret: bytes | str) -> set[str]:
    text = secret.decode("utf-8", "surrogateescape") if isinstance(secret, bytes) else secret
    runs = {"".join(text.split())} | set(text.splitlines())  # whitespace-free, and each line
    out = set()
    for run in runs:
        run = "".join(ch for ch in run if ch.isascii() and ch.isprintable())
        if len(run) <= FRAGMENT:
            out.add(run)
        out.update(run[i:i + FRAGMENT] for i in range(len(run) - FRAGMENT + 1))
    return {f for f in out if f}


def exception_texts(exc: BaseException) -> list[str]:
    """str, repr, args and the printed traceback of an exception and of every exception
    chained to it, shown or not."""
    texts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        texts += [str(exc), repr(exc), *map(repr, exc.args), "".join(traceback.format_exception(exc))]
        exc = exc.__cause__ or exc.__context__
    return texts


def assert_nothing_of(secret: bytes | str, *texts: str) -> None:
    shown = "\n".join(texts)
    flat = "".join(shown.split())
    leaked = sorted(f for f in fragments(secret) if f in shown or f in flat)
    assert not leaked, f"{len(leaked)} fragment(s) of the key shown, e.g. {leaked[0]!r}"


# ----- the entry points -----
@pytest.fixture
def clean_env(monkeypatch):
    for name in ("KALSHI_ACCESS_KEY", "KALSHI_PRIVATE_KEY", "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KALSHI_ACCESS_KEY", "key-id-1")
    return monkeypatch


def refused_at_startup(capsys, caplog) -> tuple[str, list[str]]:
    """Read the credentials as `mmd start --env demo` does; return the one-line message and
    every text a user or a log could see."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StartupError) as caught:
        _credentials_from_env("demo")
    out, err = capsys.readouterr()
    return str(caught.value), [out, err, caplog.text, *exception_texts(caught.value)]


def key_file(path: Path, content: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(content)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("name", WRONG_CONTENT_NAMES)
def test_a_wrong_key_given_as_text_in_the_environment_is_refused_without_showing_it(
    name, material, clean_env, capsys, caplog
):
    wrong = wrong_content(material, name)
    clean_env.setenv("KALSHI_PRIVATE_KEY", as_env_text(wrong.content))
    message, seen = refused_at_startup(capsys, caplog)
    assert message.startswith("KALSHI_PRIVATE_KEY ") and EXPECTED_FORM in message and "\n" not in message
    assert_nothing_of(wrong.secret, *seen)


@pytest.mark.parametrize("name", WRONG_CONTENT_NAMES)
def test_a_key_file_holding_a_wrong_key_is_refused_without_showing_it(
    name, material, clean_env, capsys, caplog, tmp_path
):
    wrong = wrong_content(material, name)
    clean_env.setenv("KALSHI_PRIVATE_KEY", str(key_file(tmp_path / "kalshi.pem", wrong.content)))
    message, seen = refused_at_startup(capsys, caplog)
    assert message.startswith("KALSHI_PRIVATE_KEY ") and "\n" not in message
    assert_nothing_of(wrong.secret, *seen)


@pytest.mark.parametrize("name", WRONG_CONTENT_NAMES)
def test_a_wrong_key_in_the_credentials_directory_is_refused_without_showing_it(
    name, material, clean_env, capsys, caplog, tmp_path
):
    wrong = wrong_content(material, name)
    key_file(tmp_path / CREDENTIAL, wrong.content, 0o400)
    clean_env.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    message, seen = refused_at_startup(capsys, caplog)
    assert message.startswith(f"credential {CREDENTIAL} ") and "\n" not in message
    assert_nothing_of(wrong.secret, *seen)


@pytest.mark.parametrize("name", WRONG_CONTENT_NAMES)
@pytest.mark.parametrize("as_type", [bytes, str])
def test_the_library_call_refuses_a_wrong_key_with_its_one_error_type(name, as_type, material, capsys, caplog):
    wrong = wrong_content(material, name)
    value = wrong.content if as_type is bytes else as_env_text(wrong.content)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PrivateKeyError) as caught:
        load_private_key(value, source="the test key")
    assert str(caught.value).startswith("the test key ")
    assert caught.value.__cause__ is None and caught.value.__context__ is None  # nothing chained holds it
    assert_nothing_of(wrong.secret, *capsys.readouterr(), caplog.text, *exception_texts(caught.value))


# ----- what each wrong form is told -----
@pytest.mark.parametrize(("name", "says"), [
    ("short garbage", "neither PEM text nor the path of an existing file"),
    ("long PEM body without header, one line", "without its -----BEGIN and -----END lines"),
    ("long PEM body without header, in lines", "without its -----BEGIN and -----END lines"),
    ("wrong header", "a PEM block that is not a private key"),
    ("encrypted key", "encrypted with a passphrase"),
    ("public key instead of the private key", "a public key, not the private key"),
    ("non-UTF-8 bytes", "neither PEM text nor the path of an existing file"),
    ("non-UTF-8 bytes inside a PEM block", "not a readable private key"),
])
def test_each_wrong_form_is_told_what_was_expected(name, says, material, clean_env, capsys, caplog):
    clean_env.setenv("KALSHI_PRIVATE_KEY", as_env_text(wrong_content(material, name).content))
    message, _ = refused_at_startup(capsys, caplog)
    assert says in message and message.endswith(
        "expected PEM text (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----) or a path to a PEM file")


def test_a_directory_is_refused_and_nothing_in_it_is_read(material, clean_env, capsys, caplog, tmp_path):
    key_file(tmp_path / "inside.pem", material["pkcs8"])
    clean_env.setenv("KALSHI_PRIVATE_KEY", str(tmp_path))
    message, seen = refused_at_startup(capsys, caplog)
    assert message.startswith(f"KALSHI_PRIVATE_KEY names a directory ({tmp_path}), not a PEM file")
    assert_nothing_of(body_of(material["pkcs8"]), *seen)


def test_a_missing_path_is_refused_without_repeating_the_value(clean_env, capsys, caplog, tmp_path):
    missing = tmp_path / "Wq8-mistyped-or-secret-name.pem"
    clean_env.setenv("KALSHI_PRIVATE_KEY", str(missing))
    message, seen = refused_at_startup(capsys, caplog)
    assert message.startswith("KALSHI_PRIVATE_KEY is neither PEM text nor the path of an existing file")
    assert_nothing_of(missing.name, *seen)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_may_read_is_refused_naming_the_path_and_the_chmod(
    mode, material, clean_env, capsys, caplog, tmp_path
):
    path = key_file(tmp_path / "kalshi.pem", material["pkcs8"], mode)
    clean_env.setenv("KALSHI_PRIVATE_KEY", str(path))
    message, seen = refused_at_startup(capsys, caplog)
    assert message == (f"KALSHI_PRIVATE_KEY: permissions {mode:04o} for {path} are too open: a private key file "
                       f"must be readable by its owner only (0600 or stricter); run: chmod 600 {path}")
    assert_nothing_of(body_of(material["pkcs8"]), *seen)


def test_a_directory_or_a_world_readable_file_in_the_credentials_directory_is_refused(
    material, clean_env, capsys, caplog, tmp_path
):
    clean_env.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    (tmp_path / CREDENTIAL).mkdir()
    key_file(tmp_path / CREDENTIAL / "inside.pem", material["pkcs8"])
    message, seen = refused_at_startup(capsys, caplog)
    assert message.startswith(f"credential {CREDENTIAL} (CREDENTIALS_DIRECTORY) names a directory")
    assert_nothing_of(body_of(material["pkcs8"]), *seen)
    (tmp_path / CREDENTIAL / "inside.pem").unlink()
    (tmp_path / CREDENTIAL).rmdir()
    key_file(tmp_path / CREDENTIAL, material["pkcs8"], 0o644)
    message, seen = refused_at_startup(capsys, caplog)
    assert "permissions 0644" in message and f"chmod 600 {tmp_path / CREDENTIAL}" in message
    assert_nothing_of(body_of(material["pkcs8"]), *seen)


def test_no_key_anywhere_still_asks_for_the_credentials(clean_env, capsys, caplog, tmp_path):
    clean_env.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))  # holds no kalshi-private-key
    message, _ = refused_at_startup(capsys, caplog)
    assert message == ("--env demo needs credentials: set KALSHI_ACCESS_KEY and KALSHI_PRIVATE_KEY "
                       "(PEM text or a path to a PEM file)")


# ----- the right forms still load -----
@pytest.mark.parametrize("form", ["pkcs8", "pkcs1"])
def test_pem_text_in_the_environment_loads(form, material, clean_env):
    clean_env.setenv("KALSHI_PRIVATE_KEY", material[form].decode())
    key_id, key = _credentials_from_env("demo")
    assert key_id == "key-id-1" and isinstance(key, rsa.RSAPrivateKey)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_an_owner_only_key_file_loads(mode, material, clean_env, tmp_path):
    clean_env.setenv("KALSHI_PRIVATE_KEY", str(key_file(tmp_path / "kalshi.pem", material["pkcs8"], mode)))
    assert isinstance(_credentials_from_env("demo")[1], rsa.RSAPrivateKey)


@pytest.mark.parametrize("mode", [0o400, 0o440])
def test_a_systemd_credential_loads_even_where_its_acl_shows_as_group_readable(mode, material, clean_env, tmp_path):
    """systemd writes a credential 0400 and lets the service user read it through an ACL, which
    stat reports as 0440; the credentials directory belongs to the service alone."""
    key_file(tmp_path / CREDENTIAL, material["pkcs8"], mode)
    clean_env.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert isinstance(_credentials_from_env("demo")[1], rsa.RSAPrivateKey)


# ----- the paper key pair -----
def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_paper_key_pair_is_private_to_its_owner(tmp_path):
    private_path, public_path = generate_key_pair(tmp_path / "var" / "paper-keys", "paper-key")
    assert mode_of(tmp_path / "var" / "paper-keys") == 0o700
    assert mode_of(private_path) == 0o600
    assert isinstance(load_private_key(private_path), rsa.RSAPrivateKey) and public_path.is_file()
    assert sorted(p.name for p in private_path.parent.iterdir()) == ["paper-key.pem", "paper-key.pub.pem"]


def test_an_existing_pair_is_kept_and_its_modes_are_tightened(tmp_path):
    folder = tmp_path / "paper-keys"
    private_path, _ = generate_key_pair(folder, "paper-key")
    before = private_path.read_bytes()
    os.chmod(folder, 0o755)
    os.chmod(private_path, 0o644)
    again, _ = generate_key_pair(folder, "paper-key")
    assert again.read_bytes() == before
    assert (mode_of(folder), mode_of(again)) == (0o700, 0o600)


def test_a_regenerated_pair_replaces_a_wide_open_private_key_with_a_0600_one(tmp_path):
    folder = tmp_path / "paper-keys"
    private_path, public_path = generate_key_pair(folder, "paper-key")
    os.chmod(private_path, 0o666)
    public_path.unlink()  # a half pair is made again
    private_path, _ = generate_key_pair(folder, "paper-key")
    assert mode_of(private_path) == 0o600


def test_paper_mode_tightens_a_paper_key_folder_written_before_the_rule(tmp_path):
    private_path, _ = generate_key_pair(tmp_path / "paper-keys", "paper-key")
    os.chmod(tmp_path / "paper-keys", 0o755)
    os.chmod(private_path, 0o644)
    endpoint = resolve_endpoint(load_config(), "paper", "http://127.0.0.1:9/trade-api/v2", tmp_path)
    assert isinstance(endpoint.private_key, rsa.RSAPrivateKey)
    assert (mode_of(tmp_path / "paper-keys"), mode_of(private_path)) == (0o700, 0o600)


# ----- the command line -----
def start_demo(env_value: bytes | str | None, tmp_path: Path, credentials: Path | None = None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("KALSHI_ACCESS_KEY", "KALSHI_PRIVATE_KEY", "CREDENTIALS_DIRECTORY")}
    env["KALSHI_ACCESS_KEY"] = "key-id-1"
    environment: dict = {os.fsencode(k): os.fsencode(v) for k, v in env.items()}
    if env_value is not None:
        environment[b"KALSHI_PRIVATE_KEY"] = os.fsencode(env_value)
    if credentials is not None:
        environment[b"CREDENTIALS_DIRECTORY"] = os.fsencode(str(credentials))
    return subprocess.run(
        [sys.executable, "-m", "mmd", "start", "--env", "demo", "--data-dir", str(tmp_path / "var")],
        cwd=ROOT, env=environment, capture_output=True, timeout=30,
    )


@pytest.mark.parametrize("name", WRONG_CONTENT_NAMES)
def test_mmd_start_with_a_wrong_key_exits_1_with_one_line_and_no_key(name, material, tmp_path):
    wrong = wrong_content(material, name)
    result = start_demo(wrong.content, tmp_path)
    stdout, stderr = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    assert result.returncode == 1
    assert stdout == "" and len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("mmd: KALSHI_PRIVATE_KEY ") and EXPECTED_FORM in stderr
    assert_nothing_of(wrong.secret, stdout, stderr)


def test_mmd_start_with_an_open_key_file_names_the_chmod_and_not_the_key(material, tmp_path):
    path = key_file(tmp_path / "kalshi.pem", material["pkcs8"], 0o644)
    result = start_demo(str(path), tmp_path)
    assert result.returncode == 1 and result.stdout == b""
    assert result.stderr.decode().splitlines() == [
        f"mmd: KALSHI_PRIVATE_KEY: permissions 0644 for {path} are too open: a private key file must be "
        f"readable by its owner only (0600 or stricter); run: chmod 600 {path}"]


def test_mmd_start_with_a_wrong_credential_exits_1_with_one_line_and_no_key(material, tmp_path):
    wrong = wrong_content(material, "long PEM body without header, in lines")
    key_file(tmp_path / CREDENTIAL, wrong.content, 0o400)
    result = start_demo(None, tmp_path, credentials=tmp_path)
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 1 and result.stdout == b"" and len(stderr.strip().splitlines()) == 1
    assert stderr.startswith(f"mmd: credential {CREDENTIAL} ")
    assert_nothing_of(wrong.secret, stderr)
