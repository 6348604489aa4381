"""An in-process emulator of a Laserfiche-style repository API with long operations.

It plays the vendor's server for the conformance suite: a folder tree, copy
and delete as long operations on a virtual or wall clock, one operation per
user session, token expiry, and a catalogue of seeded faults (realistic bugs)
to prove that the suite notices when a server breaks the contract.

    from emulator import Emulator, EmulatorConfig, Request
    emu = Emulator(EmulatorConfig(repo_id="r1", session_tokens=("alice", "bob")))
    emu.handle(Request("GET", "https://h/v1/Repositories/r1/Entries/1",
                       {"authorization": "Bearer alice"}))
"""

from .app import Emulator
from .config import EmulatorConfig
from .faults import FAULTS, Fault
from .messages import Request, Response

__all__ = ["FAULTS", "Emulator", "EmulatorConfig", "Fault", "Request", "Response"]
