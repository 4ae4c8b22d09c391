"""The certification suite on a rough line (rigs/sim-rough.toml): a faithful module however it
frames its bytes must pass, and the mutants of the clauses that read raw bytes or URCs must
still be caught with the rough framing underneath.

The rough profile (harness/sim/rough.py) keeps every meaning of the M95 and changes only
framing and timing: random chunks and gaps, a CR and its LF in different writes, URCs repeated
after finals and before echoes, boot noise, payload echo per AT+QISDE. Like
tests/suites/test_mutants.py, every run is a child pytest; they run two at a time from a
session fixture. bench/rough_seeds.py runs the whole suite over many seeds.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from _child_runs import ROOT, Outcome, run_suites

from harness.clauses import CLAUSES
from harness.sim.mutations import MUTATIONS

ROUGH_RIG = ROOT / "rigs" / "sim-rough.toml"
WORKERS = 2  # child runs at once
FAITHFUL = "(faithful)"  # the run with no mutation
#: Mutants whose clause tests read raw UART bytes, pushed data or URCs: the tests the rough
#: framing could blind (a snapshot taken too early, a URC taken for a reply).
ROUGH_MUTANTS = (
    "recv_drops_last_byte",  # RECV-DIRECT: the bare bytes on the UART
    "qishowra_ignored",  # OPT-SHOWRA: the RECV FROM line in the raw bytes
    "qihead_ignored",  # OPT-HEAD: the IPD header in the raw bytes
    "qishowpt_ignored",  # OPT-SHOWPT: the protocol in the raw header
    "recv_inside_reply",  # RECV-INTERLEAVE: pushed data inside a reply
    "qindi_ignored",  # OPT-INDI: +QIRDI instead of pushed bytes
    "qird_over_len",  # RECV-QIRD: +QIRDI and the +QIRD block
    "pdp_deact_urc_missing",  # PDP-LOST: the +PDP DEACT URC
    "closed_stays_in_data_mode",  # TRANS-CLOSED: CLOSED in the data stream
    "trans_echoes_data",  # TRANS-DATA: raw bytes in data mode
    "info_after_final",  # ORDER: lines after their final
    "cpin_ready_after_12s",  # INIT-CPIN: +CPIN: READY racing AT+CPIN?
)


def run_rough(out: Path, clauses: list[str], mutation: str | None) -> Outcome:
    """The suites' tests of `clauses` (all if none) in a child pytest on the rough rig."""
    return run_suites(out, clauses, mutation, first_failure=mutation is not None, rig=ROUGH_RIG)


@pytest.fixture(scope="session")
def rough_runs(request, tmp_path_factory) -> dict[str, Future[Outcome]]:
    """Start the selected runs, two at a time: the long faithful one first, the short mutant
    runs beside it."""
    selected = set()
    for item in request.session.items:
        if item.originalname == "test_a_faithful_module_on_a_rough_line_passes_every_clause":
            selected.add(FAITHFUL)
        elif item.originalname == "test_the_clause_tests_fail_against_the_mutant_on_a_rough_line":
            selected.add(item.callspec.params["name"])
    base = tmp_path_factory.mktemp("rough")
    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="rough")
    runs = {}
    if FAITHFUL in selected:
        runs[FAITHFUL] = pool.submit(run_rough, base / "faithful", [], None)
    for name in ROUGH_MUTANTS:
        if name in selected:
            runs[name] = pool.submit(run_rough, base / name, [MUTATIONS[name].clause], name)
    yield runs
    pool.shutdown(wait=False, cancel_futures=True)


def test_the_rough_rig_file_is_the_sim_rig_with_the_rough_profile():
    from harness.rig import load_rig

    rough, plain = load_rig(ROUGH_RIG), load_rig("sim")
    assert rough.sim is not None and rough.sim.profile == "rough"
    assert (rough.capabilities, rough.time_scale) == (plain.capabilities, plain.time_scale)


def test_a_faithful_module_on_a_rough_line_passes_every_clause(rough_runs):
    outcome = rough_runs[FAITHFUL].result()
    assert outcome.tests, f"no certification test ran:\n{outcome.output}"
    assert not outcome.not_passed() and outcome.returncode == 0, (
        "false failures on a rough line: "
        f"{[(t['nodeid'], t['category'], t['message'][:400]) for t in outcome.not_passed()]}\n"
        f"{outcome.output}"
    )
    walked = {c for t in outcome.tests if t["outcome"] == "passed" for c in t["clauses"]}
    assert sorted(set(CLAUSES) - walked) == []


@pytest.mark.parametrize("name", ROUGH_MUTANTS)
def test_the_clause_tests_fail_against_the_mutant_on_a_rough_line(name, rough_runs):
    mutation = MUTATIONS[name]
    outcome = rough_runs[name].result()
    assert outcome.tests, f"no test of {mutation.clause} ran:\n{outcome.output}"
    caught = outcome.by_module(mutation.clause)
    assert caught, (
        f"on a rough line the tests of {mutation.clause} survive mutation {name!r} "
        f"({mutation.description}); it shows as: {mutation.shows}\n{outcome.output}"
    )
