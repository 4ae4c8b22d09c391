"""The console verdict table: worst first, long steps wrapped never cut, causes in words."""

from harness.limits import QIOPEN
from harness.report.console import verdict_table
from harness.report.runs import load_run


def test_worst_first_with_the_cause_and_nothing_cut(new_run, slow_qiclose_run):
    table = verdict_table(slow_qiclose_run())
    lines = table.splitlines()
    assert lines[0].split() == ["clause", "verdict", "deciding", "step", "measured", "limit"]
    assert lines[1].split()[1] == "fail" and "PDP-DEACT" not in lines[1]
    assert "↳ AT+QICLOSE gave no final answer within its 90 s limit (CLOSE)" in table
    command = 'AT+QIOPEN="TCP","a-rather-long-host-name.example.invalid","7007"'
    b = new_run("r1").test("suites/test_open.py::test_tcp", ["OPEN-TCP"])
    b.timing(QIOPEN, 1.2, command, "suites/test_open.py::test_tcp")
    text = verdict_table(load_run(b.write()), step_width=30)
    row = next(line for line in text.splitlines() if line.startswith("OPEN-TCP"))
    at = text.splitlines().index(row)
    parts = [row[29:59]] + [line[29:] for line in text.splitlines()[at + 1 :]]
    shown = "".join(p.strip() for p in parts if not p.strip().startswith("↳"))
    assert shown.startswith(command)  # wrapped onto more lines, every character kept
