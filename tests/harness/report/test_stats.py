"""Per-command statistics: medians, percentiles and the MAD; commands grouped by name."""

import pytest

from harness.limits import DEFAULT_COMMAND, QIOPEN
from harness.report.runs import TimingRecord
from harness.report.stats import MAD_TO_SIGMA, command_key, command_stats, mad, median, percentile


@pytest.mark.parametrize(
    ("command", "key"),
    [
        ('AT+QIOPEN="TCP","127.0.0.1","7007"', "AT+QIOPEN"),
        ("at+cgatt?", "AT+CGATT"),
        ("AT+QISEND=36", "AT+QISEND"),
        ("AT", "AT"),
        ("PWRKEY on sequence", "PWRKEY on sequence"),
    ],
)
def test_command_key(command, key):
    assert command_key(command) == key


def test_median_percentile_and_mad():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0, 3.0, 4.0]) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert percentile([7.0], 95) == 7.0
    assert mad([1.0, 2.0, 3.0, 4.0, 100.0]) == 1.0  # the outlier does not inflate it
    with pytest.raises(ValueError):
        percentile([], 50)


def _t(command, measured, limit=None, clause="AT-TIMEOUT"):
    return TimingRecord(None, clause, command, measured, limit, None, "pass")


def test_command_stats_groups_by_name_in_first_seen_order():
    stats = command_stats(
        [
            _t('AT+QIOPEN="TCP","a","1"', 1.0, QIOPEN.seconds, "OPEN-TCP"),
            _t("AT+CPIN?", 0.2, DEFAULT_COMMAND.seconds),
            _t('AT+QIOPEN="UDP","a","1"', 3.0, QIOPEN.seconds, "OPEN-UDP"),
            _t('AT+QIOPEN="TCP","a","1"', 2.0, None, "OPEN-SLOW"),
        ]
    )
    assert list(stats) == ["AT+QIOPEN", "AT+CPIN"]
    s = stats["AT+QIOPEN"]
    assert s.values == (1.0, 3.0, 2.0) and s.median == 2.0 and s.n == 3
    assert s.limit == QIOPEN.seconds
    assert s.clauses == ("OPEN-TCP", "OPEN-UDP", "OPEN-SLOW")
    assert s.sigma == pytest.approx(1.0 * MAD_TO_SIGMA)
