"""The record readers never raise anything but a one-line ReportError naming the file, whatever
is in the record; and whatever they return, every page renders (bench/records_fuzz.py runs the
five commands over a thousand damaged records)."""

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.report.certificate import render_certificate
from harness.report.compare import compare_runs
from harness.report.compare_render import render
from harness.report.matrix import matrix_rows
from harness.report.report_html import render_report
from harness.report.runs import ReportError, load_run
from harness.report.trend import build, timings_csv
from harness.report.trend import render as render_trend

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 5e-324, 1e7, 10**400]),
    st.text(max_size=30),
    st.sampled_from(["NaN", "pass", "fail", "interrupted", "limit exceeded", "../x", ""]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node, prefix=()):
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out += [(*prefix, k), *_paths(v, (*prefix, k))]
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += [(*prefix, i), *_paths(v, (*prefix, i))]
    return out


@st.composite
def damaged(draw, base: dict):
    """The base record with 1–3 of its values replaced or keys dropped."""
    data = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return data


@pytest.fixture(scope="module")
def base(shared_run) -> Path:
    """A run with passing, failing, skipped and interrupted tests and measured steps."""
    return shared_run("base", samples=3, fail=("CLOSE",), skip=("PWR-ON",))


def _write(base: Path, tmp: Path, data: dict) -> Path:
    import shutil

    run = tmp / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(base, run)
    (run / "timings.json").write_text(json.dumps(data, allow_nan=True))
    return run


def _read(run: Path):
    """load_run's answer: a Run, or a one-line ReportError naming the record."""
    try:
        return load_run(run)
    except ReportError as e:
        message = str(e)
        assert "\n" not in message and "timings.json" in message, message
        return None


SLOW = settings(deadline=None, suppress_health_check=list(HealthCheck))


@SLOW
@given(data=st.data())
def test_the_reader_survives_any_damaged_value(base, tmp_path_factory, data):
    record = json.loads((base / "timings.json").read_text())
    run = _read(_write(base, tmp_path_factory.mktemp("r"), data.draw(damaged(record))))
    if run is None:
        return
    for t in run.timings:
        assert t.valid and math.isfinite(t.measured)
    for w in run.warnings:
        assert ("\n" not in w and "timings.json" in w) or "allure" in w or "junit" in w


@settings(SLOW, max_examples=10)  # bench/records_fuzz.py is the large run
@given(data=st.data())
def test_every_page_renders_from_whatever_the_reader_returns(base, tmp_path_factory, data):
    record = json.loads((base / "timings.json").read_text())
    run = _read(_write(base, tmp_path_factory.mktemp("r"), data.draw(damaged(record))))
    if run is None:
        return
    good = load_run(base)
    assert "<html" in render_report(run)
    assert "<html" in render_certificate([run, good])
    for old, new in ((good, run), (run, good)):
        md, html = render(compare_runs(old, new), "zh")
        assert md and "<html" in html
    assert len(matrix_rows([], run)) == 53
    trend = build([good, run])
    assert "<html" in render_trend(trend) and "nan" not in timings_csv(trend).lower()


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"[]", b"null", b"\xff\xfe", b"[" * 50_000 + b"]" * 50_000,
     b'{"format": "modemcert-timings/1", "run": {"planned": ' + b"9" * 5000 + b"}}"],
)  # fmt: skip
def test_an_unreadable_file_is_one_line_naming_it(base, tmp_path, content):
    run = _write(base, tmp_path, {})
    (run / "timings.json").write_bytes(content)
    with pytest.raises(ReportError) as err:
        load_run(run)
    assert "\n" not in str(err.value) and str(run / "timings.json") in str(err.value)
