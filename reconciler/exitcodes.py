"""Named exit codes, the same as Terraform's."""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    CHANGES = 2  # plan --detailed-exitcode: changes present; drift: drift found
