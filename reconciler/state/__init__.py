"""What was recorded: the state file format (model.py), reading/writing it (store.py), its lock (lock.py)."""

from reconciler.state.lock import state_lock
from reconciler.state.model import ResourceRecord, State
from reconciler.state.store import read_state, write_state

__all__ = ["ResourceRecord", "State", "read_state", "state_lock", "write_state"]
