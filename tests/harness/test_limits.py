"""harness/limits.py: verdicts around each limit, command lookup, the documented numbers.

The numbers are read back out of docs/PROCESS.md (the vendor document as clauses), so a typo
in either file fails here.
"""

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import limits
from harness.clauses import CLAUSES, UnknownClause
from harness.commands import COMMAND_LIMITS, limit_for
from harness.limits import (
    DEFAULT_COMMAND,
    MARGINAL_FRACTION,
    QIACT,
    QIDEACT,
    Limit,
    Timing,
    Verdict,
    command_name,
)

PROCESS_MD = Path(__file__).resolve().parents[2] / "docs" / "PROCESS.md"
_ROW = re.compile(r"^\| ([A-Z][A-Z0-9-]+) \|(.*)\|\s*$")

ALL_LIMITS = {name: v for name, v in vars(limits).items() if isinstance(v, Limit)}
RANK = {Verdict.PASS: 0, Verdict.MARGINAL: 1, Verdict.FAIL: 2}


@pytest.fixture(scope="module")
def process() -> dict[str, str]:
    """PROCESS.md's clause rows: ID → the rest of the row with backticks removed."""
    rows = {}
    for line in PROCESS_MD.read_text(encoding="utf-8").splitlines():
        m = _ROW.match(line)
        if m and m.group(1) != "ID":
            rows[m.group(1)] = m.group(2).replace("`", "").strip()
    return rows


def numbers(row: str, pattern: str) -> tuple[float, ...]:
    m = re.search(pattern, row)
    assert m, f"PROCESS.md row no longer says {pattern!r}: {row}"
    return tuple(float(g) for g in m.groups())


# -- the documented numbers --------------------------------------------------------------------
def test_the_at_timeout_table_matches_process_md(process):
    row = process["AT-TIMEOUT"]
    (plain,) = numbers(row, r"plain commands get (\d+) s")
    table = {f"AT+{cmd}": float(s) for cmd, s in re.findall(r"AT\+([A-Z]+) (\d+) s", row)}
    assert set(table) == {"AT+CGATT", "AT+QIACT", "AT+QICLOSE", "AT+QIDEACT"}
    assert DEFAULT_COMMAND.seconds == plain
    assert DEFAULT_COMMAND.clause == "AT-TIMEOUT"
    for command, seconds in table.items():
        assert limit_for(command).seconds == seconds, command


# (limit, its clause, pattern in that clause's PROCESS.md row)
COMMAND_ROWS = [
    ("CGATT", "INIT-CGATT", r"\| (\d+) s$"),
    ("QIACT", "PDP-ACT", r"AT\+QIACT: (\d+) s, reboot on no answer$"),
    ("QIDEACT", "PDP-DEACT", r"typ [\d.]+–[\d.]+ s, (\d+) s$"),
    ("QICLOSE", "CLOSE", r"\| (\d+) s$"),
    ("QIOPEN", "OPEN-TCP", r"\| (\d+) s for an answer$"),
]


@pytest.mark.parametrize(("name", "clause_id", "pattern"), COMMAND_ROWS)
def test_each_command_limit_is_its_clause_number(process, name, clause_id, pattern):
    limit = getattr(limits, name)
    assert limit.clause == clause_id
    assert (limit.seconds,) == numbers(process[clause_id], pattern)


def test_qiopen_is_also_the_open_retry_timeout(process):
    (seconds,) = numbers(process["OPEN-RETRY"], r"no answer within (\d+) s")
    assert limits.QIOPEN.seconds == seconds


def test_qideact_typical_band_is_the_documented_one(process):
    assert QIDEACT.typical == numbers(process["PDP-DEACT"], r"typ (\d+)–(\d+) s")


MIN, MS = 60.0, 0.001
# (clause, pattern, unit of each group, the limits.py values in module seconds / counts)
OTHER_NUMBERS = [
    ("INIT-SYNC", r"(\d+) × (\d+) ms$", (1, MS), lambda: (limits.SYNC_TRIES, limits.SYNC_INTERVAL)),
    ("INIT-CPIN", r"within (\d+) s of power-on", (1,), lambda: (limits.CPIN_READY,)),
    ("INIT-CREG", r"within (\d+) s: reboot", (1,), lambda: (limits.CREG_REGISTERED,)),
    ("INIT-CGREG", r"within (\d+) s: go on", (1,), lambda: (limits.CGREG_REGISTERED,)),
    ("OPT-TCFG", r"(\d+) ms / (\d+) B$", (MS, 1), lambda: (limits.TCFG_WAIT, limits.TCFG_SIZE)),
    ("PDP-ACT-RETRY", r"failing (\d+) times", (1,), lambda: (limits.QIACT_FAILURES,)),
    ("PDP-DEACT", r"worst about ([\d.]+) min", (MIN,), lambda: (limits.QIDEACT_WORST,)),
    ("PDP-DEACT", r"timeout (\d+) min or less", (MIN,), lambda: (limits.QIDEACT_RECOMMENDED,)),
    ("PDP-DEACT", r"deactivate (\d+) times", (1,), lambda: (limits.QIDEACT_FAILURES,)),
    ("OPEN-SLOW", r"([\d.]+)–([\d.]+) min worst", (MIN, MIN), lambda: limits.QIOPEN_WORST),
    ("OPEN-SLOW", r"under (\d+) min", (MIN,), lambda: (limits.QIOPEN_HOST_TIMEOUT,)),
    ("OPEN-RETRY", r"failing (\d+) times in a row", (1,), lambda: (limits.QIOPEN_FAILURES,)),
    ("SEND-MAX", r"(\d+) B$", (1,), lambda: (limits.SEND_MAX,)),
    ("SEND-ACK", r"ack within (\d+) s", (1,), lambda: (limits.ACK,)),
    (
        "SEND-WINDOW",
        r"buffer is (\d+) bytes and one TCP packet at most (\d+)",
        (1, 1),
        lambda: (limits.SOCKET_SEND_BUFFER, limits.TCP_MAX_PACKET),
    ),
    (
        "SEND-WINDOW",
        r"(\d+) B, (\d+) s × (\d+)$",
        (1, 1, 1),
        lambda: (limits.SEND_WINDOW_BYTES, limits.QISACK_POLL, limits.SEND_WINDOW_POLLS),
    ),
    ("RECV-QIRD", r"at most (\d+) bytes per call", (1,), lambda: (limits.QIRD_MAX,)),
    ("KEEP-HEARTBEAT", r"(\d+) min$", (MIN,), lambda: (limits.HEARTBEAT,)),
    (
        "KEEP-CHECK",
        r"(\d+) s × (\d+)$",
        (1, 1),
        lambda: (limits.QISACK_POLL, limits.KEEP_CHECK_POLLS),
    ),
    ("PWR-ON", r"(\d+) s$", (1,), lambda: (limits.PWRKEY_ON,)),
    ("PWR-OFF", r"(\d+) s, (\d+) s$", (1, 1), lambda: (limits.PWRKEY_OFF, limits.POWER_CUT_AFTER)),
    (
        "PWR-BACKOFF",
        r"(\d+), (\d+), (\d+), (\d+) min$",
        (MIN,) * 4,
        lambda: limits.BACKOFF,
    ),
]


@pytest.mark.parametrize(
    ("clause_id", "pattern", "units", "values"),
    OTHER_NUMBERS,
    ids=[f"{c}:{p}" for c, p, _, _ in OTHER_NUMBERS],
)
def test_the_other_documented_numbers_match_process_md(process, clause_id, pattern, units, values):
    documented = tuple(
        n * u for n, u in zip(numbers(process[clause_id], pattern), units, strict=True)
    )
    ours = tuple(v.seconds if isinstance(v, Limit) else float(v) for v in values())
    assert ours == pytest.approx(documented), clause_id


def test_commands_the_document_says_to_reboot_for_say_reboot():
    for limit in (DEFAULT_COMMAND, limits.CGATT, QIACT, QIDEACT, limits.QICLOSE):
        assert limit.action == "reboot", limit.name
    assert limits.QIOPEN.action == "deactivate"  # OPEN-RETRY: QIDEACT and try again


# -- every limit cites a real clause -----------------------------------------------------------
def test_every_limit_cites_a_clause_that_exists():
    assert len(ALL_LIMITS) >= 15  # the introspection really found them
    for name, limit in ALL_LIMITS.items():
        assert limit.clause in CLAUSES, f"{name} cites {limit.clause!r}"
        assert limit.seconds > 0, name
        if limit.typical:
            low, high = limit.typical
            assert 0 <= low <= high <= limit.seconds, name


def test_a_limit_citing_an_unknown_clause_cannot_be_made():
    with pytest.raises(UnknownClause, match="PDP-DEACT"):
        Limit("AT+QIDEACT", QIDEACT.seconds, "PDP-DEAKT")


def test_the_interface_names_other_layers_use_exist():
    names = [
        *("QIACT", "QIDEACT", "QICLOSE", "QIOPEN", "CGATT", "DEFAULT_COMMAND"),
        *("SEND_MAX", "SEND_WINDOW_BYTES", "QISACK_POLL", "SEND_WINDOW_POLLS"),
        *("KEEP_CHECK_POLLS", "HEARTBEAT", "TCFG_WAIT", "TCFG_SIZE", "ESCAPE_GUARD"),
        *("POWER_CUT_AFTER", "BACKOFF", "SYNC_TRIES", "SYNC_INTERVAL", "CPIN_READY"),
        *("CREG_REGISTERED", "PWRKEY_ON", "PWRKEY_OFF"),
    ]
    missing = [n for n in names if not hasattr(limits, n)]
    assert not missing


def test_limits_are_immutable():
    with pytest.raises(AttributeError):
        QIACT.seconds = 1.0


# -- command lookup ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("command", "name"),
    [
        ("AT+QIACT", "+QIACT"),
        ("at+qiact", "+QIACT"),
        ("At+QiAct", "+QIACT"),
        ('AT+QIOPEN="TCP","127.0.0.1","7007"', "+QIOPEN"),
        ('AT+QIOPEN="UDP","127.0.0.1",7007', "+QIOPEN"),
        ("AT+QISTAT", "+QISTAT"),
        ("at+cgatt?", "+CGATT"),
        ("AT+CGATT=1", "+CGATT"),
        ("AT+QIDEACT", "+QIDEACT"),
        ("  AT+QICLOSE\r\n", "+QICLOSE"),
        ("AT+QISEND=10", "+QISEND"),
        ("ATE0", "E"),
        ("AT&W", "&W"),
        ("AT", ""),
    ],
)
def test_command_name(command, name):
    assert command_name(command) == name


@pytest.mark.parametrize(
    ("command", "limit"),
    [
        ("AT+QIACT", limits.QIACT),
        ("at+qiact", limits.QIACT),
        ('AT+QIOPEN="TCP","127.0.0.1","7007"', limits.QIOPEN),
        ('at+qiopen="udp","127.0.0.1",7007', limits.QIOPEN),
        ("AT+QIDEACT", limits.QIDEACT),
        ("AT+QICLOSE", limits.QICLOSE),
        ("AT+CGATT?", limits.CGATT),
        ("AT+CGATT=1", limits.CGATT),
        ("AT+QISTAT", DEFAULT_COMMAND),
        ("AT+QISACK", DEFAULT_COMMAND),
        ("AT+QIACTX", DEFAULT_COMMAND),  # a name is matched whole, never by prefix
        ("AT+CPIN?", DEFAULT_COMMAND),
        ("AT", DEFAULT_COMMAND),
        ("not a command", DEFAULT_COMMAND),
        ("", DEFAULT_COMMAND),
    ],
)
def test_limit_for(command, limit):
    assert limit_for(command) is limit


def test_every_command_limit_is_found_by_its_own_name():
    for key, limit in COMMAND_LIMITS.items():  # AT-TIMEOUT's table: the command registry's
        assert limit_for(limit.name) is limit
        assert command_name(limit.name) == key


# -- verdicts ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("measured", "verdict"),
    [
        (0.0, Verdict.PASS),
        (1.0, Verdict.PASS),  # below the typical band is fine
        (2.0, Verdict.PASS),
        (5.0, Verdict.PASS),  # the top of the typical band
        (5.01, Verdict.MARGINAL),  # above typical, far inside the limit
        (QIDEACT.seconds - 0.01, Verdict.MARGINAL),
        (QIDEACT.seconds, Verdict.MARGINAL),  # at the limit is still inside it
        (QIDEACT.seconds + 0.01, Verdict.FAIL),
        (1e9, Verdict.FAIL),
        (math.inf, Verdict.FAIL),
    ],
)
def test_judge_around_a_limit_with_a_typical_band(measured, verdict):
    assert QIDEACT.typical == (2.0, 5.0)
    assert QIDEACT.judge(measured) is verdict


def test_judge_near_a_limit_without_a_typical_band():
    assert QIACT.typical is None
    edge = MARGINAL_FRACTION * QIACT.seconds
    assert QIACT.judge(0.0) is Verdict.PASS
    assert QIACT.judge(edge) is Verdict.PASS
    assert QIACT.judge(edge + 0.01) is Verdict.MARGINAL
    assert QIACT.judge(QIACT.seconds) is Verdict.MARGINAL
    assert QIACT.judge(QIACT.seconds + 0.01) is Verdict.FAIL


def test_the_marginal_fraction_applies_even_inside_a_wide_typical_band():
    wide = Limit("AT+QIDEACT", 90.0, "PDP-DEACT", typical=(2.0, 89.0))
    assert wide.judge(MARGINAL_FRACTION * 90.0) is Verdict.PASS
    assert wide.judge(MARGINAL_FRACTION * 90.0 + 0.5) is Verdict.MARGINAL


def test_marginal_fraction_is_a_fraction():
    assert 0.0 < MARGINAL_FRACTION < 1.0


def test_a_measurement_that_is_not_a_number_never_passes():
    assert QIACT.judge(math.nan) is Verdict.FAIL
    assert QIDEACT.check(math.nan).verdict is Verdict.FAIL


@given(
    st.sampled_from(sorted(ALL_LIMITS)),
    st.floats(min_value=0.0, max_value=1e7),
    st.floats(min_value=0.0, max_value=1e7),
)
def test_a_longer_measurement_never_gets_a_better_verdict(name, a, b):
    limit = ALL_LIMITS[name]
    short, long_ = sorted((a, b))
    assert RANK[limit.judge(short)] <= RANK[limit.judge(long_)]
    assert (limit.judge(long_) is Verdict.FAIL) == (long_ > limit.seconds)


# -- Timing ------------------------------------------------------------------------------------
def test_check_makes_a_timing_with_the_limits_numbers():
    t = QIDEACT.check(3.2, "AT+QIDEACT", note="after QICLOSE")
    assert t == Timing(
        "PDP-DEACT", "AT+QIDEACT", 3.2, 90.0, (2.0, 5.0), Verdict.PASS, "after QICLOSE"
    )
    assert QIACT.check(200.0).command == "AT+QIACT"  # defaults to the limit's name
    assert QIACT.check(200.0).verdict is Verdict.FAIL


@pytest.mark.parametrize(
    ("measured", "margin"),
    [(0.0, 1.0), (45.0, 0.5), (90.0, 0.0), (99.0, -0.1)],
)
def test_margin_is_the_fraction_of_the_limit_left(measured, margin):
    assert QIDEACT.check(measured).margin == pytest.approx(margin)


def test_a_timing_without_a_limit_has_no_margin():
    t = Timing("ORDER", "AT", 0.1, None, None, Verdict.PASS)
    assert t.margin is None
    assert "no limit" in t.describe()


def test_describe_names_clause_command_time_limit_and_verdict():
    text = QIDEACT.check(3.2, "AT+QIDEACT").describe()
    assert text == "PDP-DEACT AT+QIDEACT: 3.200 s (limit 90 s) → pass"
    assert QIACT.check(181.5).describe().endswith("(limit 180 s) → fail")


def test_as_dict_is_the_timings_json_row():
    d = QIDEACT.check(3.2, "AT+QIDEACT").as_dict()
    assert d == {
        "clause": "PDP-DEACT",
        "command": "AT+QIDEACT",
        "measured": 3.2,
        "limit": 90.0,
        "typical": [2.0, 5.0],
        "verdict": "pass",
        "note": "",
    }
    assert type(d["verdict"]) is str
    assert json.loads(json.dumps(d)) == d
    assert QIACT.check(1.0).as_dict()["typical"] is None


# -- per-model power profiles -------------------------------------------------------------------
def test_every_model_profile_overrides_only_what_its_own_document_says():
    from harness.limits import M95_POWER, MODEL_OVERRIDES, profile_for

    base = profile_for("M95")
    assert base.own == frozenset() and base["PWRKEY_OFF_WINDOW"] == limits.PWRKEY_OFF_WINDOW
    for model, own in MODEL_OVERRIDES.items():
        profile = profile_for(model)
        assert set(profile.values) == set(M95_POWER)
        for key, documented in profile.values.items():
            if key in own:
                assert documented == own[key] and model in documented.source
            else:
                assert documented == M95_POWER[key] and "M95" in documented.source


def test_m66_and_m85_have_their_own_off_window_and_emerg_off_facts():
    from harness.limits import profile_for

    for model in ("M66", "M85"):
        assert profile_for(model)["PWRKEY_OFF_WINDOW"] == (0.7, 1.0)
    assert profile_for("M66")["EMERG_OFF_PIN"] is False
    assert profile_for("M85")["EMERG_OFF_MIN"] == pytest.approx(0.04)
    assert profile_for("M80")["EMERG_OFF_MIN"] == pytest.approx(0.02)
    assert profile_for("M95")["EMERG_OFF_MIN"] is None  # [U]: no width in the M95 guide
    assert profile_for("MC60")["VBAT_SETTLE"] == pytest.approx(0.1)


def test_model_names_as_modules_report_them():
    from harness.limits import model_key

    assert model_key("Quectel_M66") == "M66"
    assert model_key("m95") == "M95"
    assert model_key("Quectel_MC60") == "MC60"
    assert model_key("M95FAR02A08") == "M95"
    assert model_key("M26") is None and model_key(None) is None


def test_provenance_names_profile_and_source_of_each_limit():
    from harness.limits import provenance

    data = provenance("M66")
    assert data["limits_profile"] == "M66 (over M95)"
    window = data["limits_sources"]["PWRKEY_OFF_WINDOW"]
    assert window == {
        "value": [0.7, 1.0],
        "source": "Quectel M66 Hardware Design §3.4.2.1 (fig. 9: 0.7 s < t < 1 s)",
        "model": "M66",
    }
    assert data["limits_sources"]["PWRKEY_ON_MIN"]["model"] == "M95"
    assert provenance(None)["limits_profile"] == "M95 (the rig names no model)"
    json.dumps(data)  # goes into timings.json as it is
