"""The emulator's legitimate variants (`emulator/variants.py`): each changes what a client
sees, none breaks a clause. The gate is run against them in the mutation gate's clean runs
(`test_clean_emulator_passes`: each variant and all at once) and live over loopback
(`test_live.py`, `--variant all`)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import pytest
from test_emulator import Driver

from emulator import Emulator, EmulatorConfig, Request
from emulator.variants import VARIANTS, VariantSet, expand


def _extra_properties(d: Driver) -> tuple[bool, bool]:
    entry = d.entry(1).json()
    problem = d.entry(999).json()
    return "_links" in entry, "apiVersion" in problem


def _connection_header(d: Driver) -> str | None:
    return d.entry(1).headers.get("connection")


def _retry_after_on_429(d: Driver) -> str | None:
    d.start(d.delete(d.folder(1, "A")))
    busy = d.delete(d.folder(1, "B"))
    assert busy.status == 429
    return busy.headers.get("retry-after")


def _token_is_a_uuid(d: Driver) -> bool:
    token = d.start(d.delete(d.folder(1, "A")))
    return len(token) == 36 and token.count("-") == 4


def _foreign_poll(d: Driver) -> int:
    token = d.start(d.delete(d.folder(1, "A")))
    return d.poll(token, user="bob").status


def _timestamp(d: Driver) -> tuple[bool, bool]:
    token = d.start(d.delete(d.folder(1, "A")))
    stamp = str(d.poll(token).json()["startTimestamp"])
    return stamp.endswith("+00:00"), len(stamp.split(".")[-1].split("+")[0]) == 6


def _percents(d: Driver) -> list[int]:
    source, dest = d.sample_tree()
    token = d.start(d.copy(dest, source, "S2"))
    seen = []
    for _ in range(8):
        d.advance(1)
        seen.append(d.poll(token).json()["percentComplete"])
    return sorted(set(seen))


def _status_after_a_while(d: Driver) -> str:
    token = d.start(d.delete(d.folder(1, "A")))
    d.advance(1.5)  # past the clean emulator's 1 s start delay, before its one step ends
    return str(d.poll(token).json()["status"])


def _copy_of_missing_source(d: Driver) -> int:
    return d.copy(1, 999, "X").status


def _renamed_copy(d: Driver) -> str:
    source = d.folder(1, "S")
    d.folder(1, "T")
    d.run_to_end(d.start(d.copy(1, source, "T", auto="true")))
    return sorted(d.names(1))[-1]


def _location(d: Driver) -> str:
    token = d.start(d.copy(1, d.folder(1, "S"), "S2"))
    return str(d.run_to_end(token).headers["location"]).split("/v1/")[0]


def _first_new_id(d: Driver) -> int:
    return d.folder(1, "A")


def _v2(d: Driver, **config: Any) -> Any:
    """A v2 driver built with the same variants as `d` (the v2-only variants change nothing
    in v1, so their scenarios run in v2; tests/test_emulator_v2.py has the rest)."""
    from test_emulator_v2 import Driver as V2Driver

    return V2Driver(variants=d.emu.config.variants, **config)


def _long_poll_waits(d: Driver) -> bool:
    """On the wall clock, does a poll of a running task wait (long_poll 0.3 s)?"""
    v2 = _v2(d, clock="wall", long_poll=0.3, start_delay=30.0)
    task = v2.start(v2.delete(v2.folder(1, "A")))
    url = f"https://h/v2/Repositories/r1/Tasks?taskIds={task}"
    began = time.monotonic()
    asyncio.run(v2.emu.handle_async(Request("GET", url, {"authorization": "Bearer alice"})))
    return time.monotonic() - began >= 0.25


def _cancel_of_ended(d: Driver) -> bool:
    v2 = _v2(d)
    task = v2.start(v2.delete(v2.folder(1, "A")))
    v2.run_to_end(task)
    return bool(v2.cancel(task)[0]["result"])


SCENARIOS: dict[str, tuple[Any, Any, Any]] = {
    # variant: (scenario, clean emulator's answer, the variant's)
    "undeclared-properties": (_extra_properties, (False, False), (True, True)),
    "connection-close": (_connection_header, None, "close"),
    "retry-after": (_retry_after_on_429, None, "1"),
    "opaque-tokens": (_token_is_a_uuid, True, False),
    "forbidden-foreign": (_foreign_poll, 404, 403),
    "precise-timestamps": (_timestamp, None, (True, True)),
    "coarse-progress": (_percents, None, [0, 50, 100]),
    "slow-start": (_status_after_a_while, "InProgress", "NotStarted"),
    "eager-validation": (_copy_of_missing_source, 201, 404),
    "copy-rename-scheme": (_renamed_copy, "T (2)", "T - Copy"),
    "relative-location": (_location, "https://emulator.invalid", ""),
    "large-ids": (_first_new_id, 2, 1_000_000_007),
    "no-long-poll": (_long_poll_waits, True, False),
    "cancel-ended-false": (_cancel_of_ended, True, False),
}


def test_every_variant_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(VARIANTS)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_each_variant_changes_what_a_client_sees(variant: str) -> None:
    scenario, clean, changed = SCENARIOS[variant]
    if clean is not None:
        assert scenario(Driver()) == clean
    else:
        assert scenario(Driver()) != changed
    assert scenario(Driver(variants=frozenset({variant}))) == changed


@pytest.mark.parametrize("variant", ["no-long-poll", "cancel-ended-false"])
def test_v2_only_variants_change_nothing_in_v1(variant: str) -> None:
    """What a v1 client sees is the same with and without them (their code is v2's)."""
    seen = []
    for variants in (frozenset(), frozenset({variant})):
        d = Driver(variants=variants)
        token = d.start(d.delete(d.folder(1, "A")))
        d.run_to_end(token)
        seen.append((d.poll(token).json()["status"], d.cancel(token).status))
    assert seen[0] == seen[1] == ("Completed", 400)


def test_a_v1_poll_never_waits_on_the_wall_clock() -> None:
    """Long polling is v2's: a v1 poll of a running operation answers at once."""
    wall = Emulator(EmulatorConfig(clock="wall", long_poll=5.0, start_delay=30.0))
    alice = {"authorization": "Bearer alice"}
    folder = wall.handle(
        Request(
            "POST",
            "https://h/v1/Repositories/r1/Entries/1/Laserfiche.Repository.Folder/children",
            alice,
            b'{"name": "A", "entryType": "Folder"}',
        )
    ).json()["id"]
    token = wall.handle(
        Request("DELETE", f"https://h/v1/Repositories/r1/Entries/{folder}", alice)
    ).json()["token"]
    began = time.monotonic()
    url = f"https://h/v1/Repositories/r1/Tasks/{token}"
    polled = asyncio.run(wall.handle_async(Request("GET", url, alice)))
    assert polled.status == 202 and time.monotonic() - began < 0.2


def test_all_stands_for_every_variant_and_unknown_names_are_refused() -> None:
    assert expand(["all"]) == set(VARIANTS)
    assert list(VariantSet(["all"])) == sorted(VARIANTS)
    with pytest.raises(ValueError, match="unknown variant.*'nope'.*known variants"):
        expand(["nope"])


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "emulator.server", "--variant", "nope"],
        [sys.executable, "-m", "contract.cli", "--variant", "nope"],
    ],
)
def test_an_unknown_variant_is_exit_2_with_the_known_ones(command: list[str], tmp_path) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "unknown variant(s) 'nope'" in result.stderr and "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir()), "a refused run wrote something"


def test_list_variants_names_each_one() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "emulator.server", "--list-variants"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for name in VARIANTS:
        assert name in result.stdout
    json.dumps(sorted(VARIANTS))  # names are plain strings
