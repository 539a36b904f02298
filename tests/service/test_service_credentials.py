"""Both Kalshi credentials come from $CREDENTIALS_DIRECTORY when systemd passes them; an
unusable one is refused with one line naming it, never quoting it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmd.systemd import CredentialError, ServiceCredentials, service_credentials

KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"


@pytest.fixture
def credentials_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "credentials" / "mmd.service"
    directory.mkdir(parents=True)
    return directory


def environ_for(directory: Path) -> dict[str, str]:
    return {"CREDENTIALS_DIRECTORY": str(directory)}


def test_both_credentials_are_read(credentials_dir):
    (credentials_dir / "kalshi-access-key").write_text(KEY_ID + "\n")
    (credentials_dir / "kalshi-private-key").write_text("-----BEGIN PRIVATE KEY-----\n...")

    credentials = service_credentials(environ_for(credentials_dir))

    assert credentials.access_key == KEY_ID
    assert credentials.private_key_path == credentials_dir / "kalshi-private-key"


def test_without_credentials_directory_there_are_none():
    assert service_credentials({}) == ServiceCredentials(access_key=None, private_key_path=None)


def test_a_credential_not_passed_is_none(credentials_dir):
    (credentials_dir / "kalshi-private-key").write_text("pem")

    credentials = service_credentials(environ_for(credentials_dir))

    assert credentials.access_key is None
    assert credentials.private_key_path is not None


def test_access_key_never_shows_in_the_repr(credentials_dir):
    (credentials_dir / "kalshi-access-key").write_text(KEY_ID)

    credentials = service_credentials(environ_for(credentials_dir))

    assert KEY_ID not in repr(credentials) and KEY_ID not in str(credentials)
    assert "access_key=<set>" in repr(credentials)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"  \n", "is empty"),
        (b"\xff\xfe" + KEY_ID.encode(), "is not UTF-8 text"),
        (b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
         "were kalshi-access-key and kalshi-private-key swapped?"),
        (b"x" * 5000, "too large"),
    ],
)
def test_an_unusable_access_key_is_refused_without_quoting_it(credentials_dir, content, expected):
    (credentials_dir / "kalshi-access-key").write_bytes(content)

    with pytest.raises(CredentialError) as caught:
        service_credentials(environ_for(credentials_dir))

    message = str(caught.value)
    assert expected in message
    assert message.startswith("credential kalshi-access-key (CREDENTIALS_DIRECTORY)")
    assert "MIIEvQ" not in message and "xxxxxxxx" not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_an_unreadable_access_key_names_the_reason(credentials_dir):
    (credentials_dir / "kalshi-access-key").mkdir()  # reading a directory fails for root too

    with pytest.raises(CredentialError, match="cannot read .*kalshi-access-key: Is a directory"):
        service_credentials(environ_for(credentials_dir))
