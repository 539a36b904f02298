"""Run a command under the seccomp filter systemd installs for MemoryDenyWriteExecute=yes.

    python memory_deny_write_execute.py COMMAND [ARG...]

The filter (systemd's, src/shared/seccomp-util.c): mmap with both PROT_WRITE and PROT_EXEC,
mprotect and pkey_mprotect adding PROT_EXEC, and shmat with SHM_EXEC fail with EPERM. It is
installed, then COMMAND is exec'd, as systemd does: every library the command loads later
(numpy, cryptography, OpenSSL...) loads under it. No privilege needed (no_new_privs is set).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
PROT_WRITE, PROT_EXEC = 0x2, 0x4
SHM_EXEC = 0o100000

# BPF opcodes
LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
AND_K = 0x54  # BPF_ALU | BPF_AND | BPF_K
RET_K = 0x06  # BPF_RET | BPF_K

OFFSET_NR, OFFSET_ARCH = 0, 4
OFFSET_ARG2 = 16 + 2 * 8  # struct seccomp_data: args[] at 16, 8 bytes each; low word first

# machine -> (AUDIT_ARCH_*, {syscall number: forbidden bits of its third argument})
ARCHITECTURES = {
    "x86_64": (0xC000003E, {9: PROT_WRITE | PROT_EXEC, 10: PROT_EXEC, 329: PROT_EXEC, 30: SHM_EXEC}),
    "aarch64": (0xC00000B7, {222: PROT_WRITE | PROT_EXEC, 226: PROT_EXEC, 288: PROT_EXEC, 196: SHM_EXEC}),
}


def _instruction(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def filter_program(machine: str) -> bytes:
    arch, rules = ARCHITECTURES[machine]
    deny = SECCOMP_RET_ERRNO | errno.EPERM
    program = [
        _instruction(LD_W_ABS, OFFSET_ARCH),
        _instruction(JEQ_K, arch, jt=1, jf=0),
        _instruction(RET_K, SECCOMP_RET_ALLOW),  # another ABI: not ours to judge
        _instruction(LD_W_ABS, OFFSET_NR),
    ]
    for number, forbidden in rules.items():
        program += [
            _instruction(JEQ_K, number, jt=0, jf=5),  # not this call: skip its five checks
            _instruction(LD_W_ABS, OFFSET_ARG2),
            _instruction(AND_K, forbidden),
            _instruction(JEQ_K, forbidden, jt=0, jf=1),
            _instruction(RET_K, deny),
            _instruction(RET_K, SECCOMP_RET_ALLOW),
        ]
    program.append(_instruction(RET_K, SECCOMP_RET_ALLOW))
    return b"".join(program)


def install_filter() -> None:
    machine = platform.machine()
    if machine not in ARCHITECTURES:
        raise SystemExit(f"memory_deny_write_execute: no filter written for {machine}")
    code = filter_program(machine)
    buffer = ctypes.create_string_buffer(code, len(code))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(code) // 8, ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    install_filter()
    os.execvp(sys.argv[1], sys.argv[1:])
