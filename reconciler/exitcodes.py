"""Named exit codes, the same as Terraform's (and 130, a shell's code for a run stopped by Ctrl-C)."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    CHANGES = 2  # plan --detailed-exitcode: changes present; drift: drift found
    INTERRUPTED = 130  # stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)
