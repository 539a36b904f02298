"""`mmd install-service`: write the systemd unit and an environment file, print what is left.

The unit is the packaged config/mmd.service with ExecStart= pointing at this installation's
`mmd`. What needs the operator (the Kalshi key, the choice of exchange, enabling) is printed
as exact commands, never done here: the key must not pass through this program.
`--dry-run` prints the files instead of writing them.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO

from mmd.systemd import ACCESS_KEY_CREDENTIAL, PRIVATE_KEY_CREDENTIAL

__all__ = [
    "UNIT_NAME",
    "UNIT_DIR",
    "ENV_FILE",
    "InstallError",
    "packaged_unit",
    "installed_mmd",
    "render_unit",
    "env_file_template",
    "installation_problems",
    "install_steps",
    "install_service",
    "command",
]

UNIT_NAME = "mmd.service"
UNIT_DIR = Path("/etc/systemd/system")
ENV_FILE = Path("/etc/mmd/mmd.env")
# hidden from the service by ProtectHome=yes (and a dynamic user cannot read them anyway)
HOME_DIRECTORIES = (Path("/home"), Path("/root"), Path("/run/user"))
_EXEC_START = re.compile(r"^ExecStart=(\S+)", re.MULTILINE)
_ENCRYPTED_CREDENTIAL = re.compile(r"^LoadCredentialEncrypted=([\w.-]+):(\S+)$", re.MULTILINE)


class InstallError(Exception):
    """The service cannot be installed from here (no `mmd` command found, unwritable path)."""


def packaged_unit() -> str:
    return resources.files("config").joinpath(UNIT_NAME).read_text(encoding="utf-8")


def installed_mmd() -> Path:
    """The `mmd` command of the running installation: the console script beside this Python
    (a virtualenv's bin/), else the one on PATH."""
    beside = Path(sys.executable).parent / "mmd"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside.absolute()
    found = shutil.which("mmd")
    if found is None:
        raise InstallError("no `mmd` command found: install the package first (pip install <path to mmd>)")
    return Path(found).absolute()


def _unit_path_argument(path: Path) -> str:
    """A path as the first word of ExecStart=: `%` is a specifier and `$` a variable there."""
    text = str(path).replace("%", "%%").replace("$", "$$")
    if any(c.isspace() or c in "\"'\\" for c in text):
        text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def render_unit(executable: Path, template: str | None = None) -> str:
    """The unit with its ExecStart= running `executable` (an absolute path)."""
    if not executable.is_absolute():
        raise InstallError(f"ExecStart needs an absolute path, not {executable}")
    template = packaged_unit() if template is None else template
    if len(_EXEC_START.findall(template)) != 1:
        raise InstallError(f"the packaged {UNIT_NAME} must hold exactly one ExecStart= line")
    argument = _unit_path_argument(executable)
    return _EXEC_START.sub(lambda _match: f"ExecStart={argument}", template)


def credential_paths(unit_text: str) -> dict[str, Path]:
    """Credential name -> encrypted file, as the unit loads them."""
    return {name: Path(path) for name, path in _ENCRYPTED_CREDENTIAL.findall(unit_text)}


def env_file_template() -> str:
    return """\
# mmd service settings, read by mmd.service (EnvironmentFile=). Never put the Kalshi key
# here: it is loaded as an encrypted credential (see `mmd install-service --dry-run`).

# Which exchange: paper (the embedded simulated exchange), demo (Kalshi's demo), or prod.
# prod trades REAL MONEY and also needs --i-understand-this-trades-real-money below.
MMD_ENV=paper

# More arguments for `mmd start`, e.g.:
#   MMD_START_ARGS=--config /etc/mmd/mmd.yaml
#   MMD_START_ARGS=--config /etc/mmd/mmd.yaml --i-understand-this-trades-real-money
MMD_START_ARGS=

# Alerts: a Slack- or Discord-compatible webhook (a secret: kept here, never in the config).
# Unset, alerts are only logged.
MMD_ALERT_WEBHOOK_URL=

# Log format: auto (journald when run by systemd), human, journald or json
MMD_LOG_FORMAT=auto
"""


def _under(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _unreadable_by_others(path: Path, executable: bool) -> list[str]:
    """Why a dynamic user (neither owner nor group) cannot use `path`, if it cannot."""
    problems = []
    for parent in reversed(path.parents):
        try:
            mode = parent.stat().st_mode
        except OSError:
            continue
        if not mode & stat.S_IXOTH:
            problems.append(f"{parent} is not searchable by other users (mode {stat.S_IMODE(mode):04o})")
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return [*problems, f"{path}: {exc.strerror}"]
    needed = stat.S_IROTH | (stat.S_IXOTH if executable else 0)
    if mode & needed != needed:
        what = "readable and executable" if executable else "readable"
        problems.append(f"{path} is not {what} by other users (mode {stat.S_IMODE(mode):04o})")
    return problems


def _interpreter(script: Path) -> Path | None:
    """The interpreter a `#!` script runs, symlinks resolved (a virtualenv's python links to
    the base installation, which must be reachable too)."""
    try:
        with open(script, "rb") as file:
            first = file.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode("utf-8", "replace").split()
    return Path(words[0]).resolve() if words else None


def installation_problems(executable: Path, package_dir: Path | None = None) -> list[str]:
    """What would stop the service's dynamic user from running `executable`: a home
    directory (ProtectHome=yes hides it) or files other users may not read."""
    package_dir = Path(__file__).resolve().parent if package_dir is None else package_dir
    needed = [(executable, True), (package_dir, True)]
    interpreter = _interpreter(executable)
    if interpreter is not None:
        needed.append((interpreter, True))
    problems = []
    for path, is_executable in needed:
        for home in HOME_DIRECTORIES:
            if _under(path, home):
                problems.append(f"{path} is under {home}, which ProtectHome=yes hides from the service")
        problems += _unreadable_by_others(path, is_executable)
    return list(dict.fromkeys(problems))


def install_steps(unit_path: Path, env_path: Path, unit_text: str) -> str:
    """The commands left to the operator, in order."""
    credentials = credential_paths(unit_text)
    access = credentials.get(ACCESS_KEY_CREDENTIAL)
    private = credentials.get(PRIVATE_KEY_CREDENTIAL)
    unit = unit_path.name
    store = sorted({str(path.parent) for path in credentials.values()})
    lines = [
        "Next steps (as root):",
        "",
        f"1. Choose the exchange in {env_path} (MMD_ENV=paper|demo|prod; prod also needs",
        "   --i-understand-this-trades-real-money in MMD_START_ARGS).",
        "",
        "2. Store the Kalshi key id and private key as encrypted credentials (host key, and the",
        "   TPM2 when there is one; systemd decrypts them for this service only):",
        "",
        *(f"   install -d -m 0700 {shlex.quote(directory)}" for directory in store),
    ]
    if access is not None:
        lines.append(
            f"   systemd-ask-password -n 'Kalshi access key id:' | systemd-creds encrypt "
            f"--name={ACCESS_KEY_CREDENTIAL} - {shlex.quote(str(access))}"
        )
    if private is not None:
        lines.append(
            f"   systemd-creds encrypt --name={PRIVATE_KEY_CREDENTIAL} /path/to/kalshi-private-key.pem "
            f"{shlex.quote(str(private))}"
        )
        lines.append("   (then remove the plain PEM file from this host; the encrypted copy opens on this host only)")
    lines += [
        "",
        "3. Check the unit and enable it:",
        "",
        f"   systemd-analyze verify {shlex.quote(str(unit_path))}",
        "   systemctl daemon-reload",
        f"   systemctl enable --now {unit}",
        f"   systemctl status {unit}          # 'active (running)' once reconciled with the exchange",
        f"   journalctl -u {unit} -f",
        "   mmd status --data-dir /var/lib/mmd",
        "",
        f"Stop gracefully (cancels every resting order): systemctl stop {unit}",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _File:
    path: Path
    text: str
    mode: int
    replace: bool  # the unit is generated; the environment file is the operator's


def install_service(
    *,
    executable: Path | None = None,
    unit_dir: Path = UNIT_DIR,
    env_file: Path = ENV_FILE,
    dry_run: bool = False,
    out: IO[str] | None = None,
) -> int:
    """Write the unit (replacing an older one) and the environment file (kept when it
    exists), then print the remaining steps. With dry_run, print both instead. Returns the
    exit status; raises InstallError when nothing can be installed."""
    out = sys.stdout if out is None else out
    executable = installed_mmd() if executable is None else executable
    unit_text = render_unit(executable)
    if env_file != ENV_FILE:  # the unit must read the environment file where it is written
        unit_text = unit_text.replace(f"EnvironmentFile=-{ENV_FILE}", f"EnvironmentFile=-{env_file}")
    files = [
        _File(unit_dir / UNIT_NAME, unit_text, 0o644, replace=True),
        _File(env_file, env_file_template(), 0o640, replace=False),
    ]
    problems = installation_problems(executable)
    if problems:
        print("warning: the service's user cannot run this installation, so the service would fail to start:", file=out)
        for problem in problems:
            print(f"warning:   {problem}", file=out)
        print("warning: install mmd outside home directories, e.g. python3 -m venv /opt/mmd && "
              "/opt/mmd/bin/pip install <path to mmd>, then run /opt/mmd/bin/mmd install-service", file=out)
    if dry_run:
        for file in files:
            kept = " (kept if it exists)" if not file.replace else ""
            print(f"--- {file.path} (mode {file.mode:04o}){kept}", file=out)
            print(file.text, end="" if file.text.endswith("\n") else "\n", file=out)
        print("--- (dry run: nothing written)", file=out)
    else:
        for file in files:
            _write(file, out)
    print(file=out)
    print(install_steps(unit_dir / UNIT_NAME, env_file, unit_text), end="", file=out)
    return 0


def _write(file: _File, out: IO[str]) -> None:
    if file.path.exists() and not file.replace:
        print(f"kept {file.path} (already there)", file=out)
        return
    try:
        file.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = file.path.with_name(f".{file.path.name}.tmp")
        temporary.write_text(file.text, encoding="utf-8")
        os.chmod(temporary, file.mode)
        os.replace(temporary, file.path)  # whole or not at all: systemd may read it any time
    except OSError as exc:
        raise InstallError(f"cannot write {file.path}: {exc.strerror or exc} (run as root, or --dry-run)") from None
    print(f"wrote {file.path}", file=out)


def command(args) -> int:
    """`mmd install-service [--dry-run] [--unit-dir DIR] [--env-file FILE]`."""
    try:
        return install_service(
            unit_dir=Path(args.unit_dir), env_file=Path(args.env_file), dry_run=args.dry_run
        )
    except InstallError as exc:
        print(f"mmd: install-service: {exc}", file=sys.stderr)
        return 1
