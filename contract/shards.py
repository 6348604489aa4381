"""The gate under pytest-xdist: the run cut into shards, one report.

`pytest -n N` starts N workers. The run is cut into *shards*, each a whole gate run
of its own (its own emulator in mock mode; its own sessions and sandboxes on a live
target), and the workers run them side by side. Each shard records its verdicts in
its own `Recorder`; the controller merges them into one run and writes the one
report. Merging recorders is the merge rule: a clause fails if some shard saw it
fail (the shortest evidence is kept), passes if some shard exercised it and none
failed, and is not tested otherwise.

* **Seeds.** Shard 1 runs with the run's seed, shard k with one derived from it, so
  the same `--lro-seed` and the same `-n` repeat a run (and `-n 1` is the plain run).
  Without a seed the controller draws one and shows it.
* **Budget.** `--max-examples` and `--fuzz-cases` are the run's: each shard gets its
  share, so `-n` makes a run faster, not larger.
* **Sessions.** One operation runs per session, so two shards must never share a
  session token: another shard's operation would make a start answer 429, which is
  no violation. Live shards get disjoint tokens, two each where there are enough (the
  isolation clauses need two); with fewer tokens, fewer shards run and a note says so.
* **The clock.** A build's clock hooks move one clock for every session: a shard's
  jump across a TTL would age the tokens of another, which counts on its own picture
  of the time. With `--clock-url` one shard runs the gate. On the wall clock time is
  the same for everyone, and shards run in parallel.

Pure: planning and merging only; `plugin.py` wires them to pytest-xdist's hooks.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from .settings import Options
from .verdicts import Recorder

#: Sessions a shard gets on a live target when there are enough: the isolation and
#: independence clauses (ISO-1, CON-3) need two.
SESSIONS_PER_SHARD = 2


@dataclass(frozen=True)
class Shard:
    """One part of a parallel run: a whole gate run with its own options."""

    index: int  # 0-based
    count: int
    options: Options

    @property
    def name(self) -> str:
        return f"shard {self.index + 1}/{self.count}"

    @property
    def id(self) -> str:
        """The pytest id of its test."""
        return f"shard-{self.index + 1}-of-{self.count}"


@dataclass(frozen=True)
class Plan:
    shards: tuple[Shard, ...]
    notes: tuple[str, ...]  # what a reader of the report should know about the split


def shard_seed(seed: int, index: int) -> int:
    """Shard 1 keeps the run's seed; the others get one drawn from it."""
    if index == 0:
        return seed
    return random.Random(f"lro-conformance seed {seed} shard {index + 1}").getrandbits(32)


def plan(options: Options, workers: int) -> Plan:
    """How a run with `options` is cut for `workers` pytest-xdist workers."""
    count, why = _shard_count(options, max(1, workers))
    tokens = options.session_tokens
    shards = []
    for index in range(count):
        shards.append(
            Shard(
                index,
                count,
                replace(
                    options,
                    seed=None if options.seed is None else shard_seed(options.seed, index),
                    max_examples=math.ceil(options.max_examples / count),
                    fuzz_cases=math.ceil(options.fuzz_cases / count),
                    session_tokens=tokens[index::count] if tokens else (),
                ),
            )
        )
    notes = [_describe(options, shards, workers)]
    if why:
        notes.append(why)
    return Plan(tuple(shards), tuple(notes))


def _shard_count(options: Options, workers: int) -> tuple[int, str]:
    if options.base_url is None:  # every shard has an emulator of its own
        return workers, ""
    if workers == 1:
        return 1, ""
    if options.clock_url is not None:
        return 1, (
            f"one of the {workers} workers ran the gate: the target's clock hooks move one "
            "clock for every session, and a jump across a TTL in one shard would age the "
            "tokens of another (run on the wall clock, or without -n)"
        )
    tokens = len(options.session_tokens)
    count = min(workers, max(1, tokens // SESSIONS_PER_SHARD))
    if count == workers:
        return count, ""
    return count, (
        f"{count} of the {workers} workers ran the gate: each needs sessions no other uses "
        f"({SESSIONS_PER_SHARD}, for the isolation clauses), and {tokens} --session-token "
        f"{'was' if tokens == 1 else 'were'} given; give {SESSIONS_PER_SHARD * workers} "
        f"to use all {workers}"
    )


def _describe(options: Options, shards: list[Shard], workers: int) -> str:
    where = (
        "each with its own embedded emulator"
        if options.base_url is None
        else "each with its own sandboxes and sessions ("
        + ", ".join(str(len(s.options.session_tokens)) for s in shards)
        + ")"
    )
    seeds = ", ".join(str(s.options.seed) for s in shards)
    return (
        f"pytest-xdist: {len(shards)} shard(s) on {workers} worker(s), {where}; "
        f"seeds {seeds}; {shards[0].options.max_examples} examples and "
        f"{shards[0].options.fuzz_cases} fuzzed requests per shard"
    )


@dataclass
class ShardResult:
    """What a worker sends back for one shard it ran."""

    index: int
    recorder: Recorder
    target: str
    started: float  # time.time() when it began
    seconds: float
    ran: bool
    harness_error: str | None


@dataclass
class Merged:
    recorder: Recorder
    target: str
    started: float  # time.time()
    seconds: float
    harness_error: str | None


def merge(run: Plan, results: list[ShardResult], lost: list[str]) -> Merged:
    """One run out of the shards' results. A shard that did not report (its worker
    crashed, or it never ran) makes the run unjudgeable: its clauses were not looked at,
    and saying "pass" for them would be a false all-clear."""
    recorder = Recorder(notes=list(run.notes))
    errors = []
    by_index = {r.index: r for r in results}
    for shard in run.shards:
        result = by_index.get(shard.index)
        if result is None or not result.ran:
            errors.append(f"{shard.name} did not run")
            continue
        part = result.recorder
        notes, part.notes = part.notes, []
        recorder.merge(part)
        recorder.notes += [f"{shard.name}: {note}" for note in notes]
        recorder.profile = recorder.profile or part.profile
        if result.harness_error:
            errors.append(f"{shard.name}: {result.harness_error}")
    errors += lost
    ran = [r for r in results if r.ran]
    started = min((r.started for r in ran), default=0.0)
    ended = max((r.started + r.seconds for r in ran), default=0.0)
    target = ran[0].target if ran else ""
    return Merged(recorder, target, started, ended - started, "; ".join(errors) or None)
