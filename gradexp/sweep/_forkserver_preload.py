"""Imported by gradexp's fork server only (listed in its preload by
:func:`gradexp.sweep.executors.local_executor`): the fork server dies with the process that
started it (see :mod:`gradexp.sweep._lifeline`). Importing it anywhere else does nothing."""

from ._lifeline import _in_fork_server, die_with_parent

if _in_fork_server():
    die_with_parent()
