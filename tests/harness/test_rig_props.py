"""Any rig file, however wrong, loads into a Rig or is one RigError naming the file: never another
exception, never a hang, and an accepted file holds only values the run can use.

`rig_documents()` builds TOML text from the real keys with hostile values (huge integers, NaN,
long and odd strings, wrong types, unknown keys); bench/inputs_fuzz.py runs it at scale.
"""

from __future__ import annotations

import math
import string
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from harness.rig import MAX_PATH, NAME_PATTERN, RigError, load_rig


def _toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{_toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(type(value))


def toml_document(top: dict, tables: dict[str, dict]) -> str:
    lines = [f"{_toml_string(k)} = {toml_value(v)}" for k, v in top.items()]
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{_toml_string(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


_text = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=string.printable, min_size=60, max_size=400),
    st.sampled_from(["", "a/b", "../../x", "a\x00b", ".hidden", "localhost", "/dev/null", "é"]),
    st.just("n" * 5000),
)
_number = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 0.02, 1.0, 115200, 65536, 10**400]),
)
_scalar = st.one_of(_text, _number, st.booleans())
_value = st.one_of(
    _scalar, st.lists(_scalar, max_size=4), st.dictionaries(_text, _scalar, max_size=3)
)
_line = st.fixed_dictionaries(
    {"pin": _number}, optional={"polarity": st.sampled_from(["active-high", "active-low", "x"])}
)
_KEYS = {
    "": ["name", "description", "kind", "time_scale", "state_dir", "on_exit", "capabilities"],
    "serial": ["port", "baud", "autobaud", "search_rates"],
    "gpio": ["backend", "chip", "pwrkey", "emerg_off", "status", "supply"],
    "network": ["apn", "user", "password", "password_env", "password_file", "wrong_apn"],
    "peer": ["host", "port", "udp_port", "control_url", "token", "token_env", "token_file"],
    "sim": ["profile", "seed", "overrides"],
}
_GOOD = {
    "kind": st.sampled_from(["sim", "hardware", "other"]),
    "time_scale": st.one_of(st.just(0.02), st.just(1.0), _number),
    "state_dir": st.one_of(st.just("state"), _text),
    "backend": st.sampled_from(["sim", "rpi", "gpiod", "none", "x"]),
    "host": st.one_of(st.sampled_from(["127.0.0.1", "203.0.113.10", "127.9.9.9"]), _text),
    "capabilities": st.lists(
        st.sampled_from(["power", "status", "sim.faults", "nope"]), max_size=3
    ),
    "apn": st.one_of(st.sampled_from(["CMNET", "internet", "a" * 100, "a" * 101]), _text),
    "seed": st.one_of(st.integers(min_value=-5, max_value=2**33), _number),
    "profile": st.sampled_from(["m95", "mc60", "m66", "rough", "seeds", "m99"]),
    "overrides": st.dictionaries(
        st.sampled_from(["lat_qiact", "cpin_space", "nope"]), _scalar, max_size=2
    ),
}
#: Valid rigs to start from (each example changes a few of their values).
_BASES = {
    "sim": (
        {"name": "sim", "kind": "sim", "time_scale": 0.02, "state_dir": "state"},
        {
            "gpio": {
                "backend": "sim",
                "pwrkey": {"pin": 4, "polarity": "active-high"},
                "status": {"pin": 27, "polarity": "active-high"},
            },
            "network": {"apn": "CMNET", "user": "u", "password": "p"},
            "peer": {"host": "127.0.0.1", "port": 0},
            "sim": {"profile": "m95", "seed": 1},
        },
    ),
    "hardware": (
        {"name": "pi", "kind": "hardware", "time_scale": 1.0, "state_dir": "state"},
        {
            "serial": {"port": "/dev/ttyUSB0", "baud": 115200},
            "gpio": {"backend": "rpi", "pwrkey": {"pin": 4, "polarity": "active-high"}},
            "network": {"apn": "internet"},
            "peer": {
                "host": "203.0.113.10",
                "port": 7007,
                "control_url": "http://127.0.0.1:7008",
                "token_env": "MODEMCERT_PEER_TOKEN",
            },
        },
    ),
}


@st.composite
def rig_documents(draw) -> str:
    """A TOML rig file: a valid rig with a few of its values made hostile, a few keys dropped
    or unknown keys added (so that some examples are accepted and checked as such)."""
    base_top, base_tables = _BASES[draw(st.sampled_from(sorted(_BASES)))]
    top = dict(base_top)
    tables = {name: dict(values) for name, values in base_tables.items()}
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        table = draw(st.sampled_from(sorted(_KEYS)))
        target = top if not table else tables.setdefault(table, {})
        action = draw(st.sampled_from(["set", "set", "set", "drop", "unknown"]))
        key = draw(st.sampled_from(_KEYS[table]))
        if action == "drop":
            target.pop(key, None)
        elif action == "unknown":
            target[draw(st.sampled_from(["bogus", "Kind", "pin", "port "]))] = draw(_value)
        elif key in ("pwrkey", "emerg_off", "status", "supply"):
            target[key] = draw(st.one_of(_line, _value))
        else:
            target[key] = draw(_GOOD[key] if key in _GOOD and draw(st.booleans()) else _value)
    return toml_document(top, tables)


def check_rig_document(text: str, folder: Path) -> str:
    """Load `text` as a rig file: "ok", or "refused" with one RigError naming the file.

    Any other exception is the finding (it propagates); so is an accepted value no run can use.
    """
    path = folder / "rig.toml"
    path.write_text(text, encoding="utf-8")
    try:
        rig = load_rig(path)
    except RigError as e:
        assert e.file == str(path) and "\n" not in str(e).strip(), str(e)
        assert len(str(e)) < 2000, "an error is one readable line"
        return "refused"
    assert NAME_PATTERN.fullmatch(rig.name)
    assert math.isfinite(rig.time_scale) and 0 < rig.time_scale <= 1
    assert len(str(rig.state_dir)) <= MAX_PATH + 200
    assert rig.network.apn.isascii() and '"' not in rig.network.apn and len(rig.network.apn) <= 100
    if rig.is_sim:
        rig.sim.build()  # the profile and its overrides really build
    return "ok"


@given(text=rig_documents())
def test_any_rig_file_loads_or_is_one_rig_error(tmp_path_factory, text):
    check_rig_document(text, tmp_path_factory.mktemp("rig"))


@given(data=st.binary(max_size=300))
def test_any_bytes_as_a_rig_file_load_or_are_one_rig_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("rig") / "rig.toml"
    path.write_bytes(data)
    try:
        load_rig(path)
    except RigError as e:
        assert e.file == str(path)


#: bench/inputs_fuzz.py runs these at scale.
PROPERTIES = [
    test_any_rig_file_loads_or_is_one_rig_error,
    test_any_bytes_as_a_rig_file_load_or_are_one_rig_error,
]
