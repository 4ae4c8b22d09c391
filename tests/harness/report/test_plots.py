"""Timing plots: real PNGs, with or without a limit, on linear or log axes."""

import base64
import io

from matplotlib.image import imread

from harness.limits import QIDEACT
from harness.report.plots import data_uri, timing_png
from harness.report.stats import CommandStats


def _stats(values, limit=QIDEACT.seconds, typical=QIDEACT.typical):
    return CommandStats(
        "AT+QIDEACT", tuple(values), limit, typical, ("PDP-DEACT",), tuple("pass" for _ in values)
    )


def _image(png: bytes):
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return imread(io.BytesIO(png), format="png")


def test_plot_is_a_png_of_the_expected_size():
    image = _image(timing_png(_stats([3.1, 2.9, 3.4, 3.0])))
    height, width = image.shape[:2]
    assert width > 500 and 100 < height < 250


def test_the_limit_line_is_drawn():
    """The dashed red limit line puts strongly red pixels on the plot; without a limit there
    are none (no point is red either: every step passed)."""

    def red_pixels(png):
        img = _image(png)
        r, g, b = img[..., 0], img[..., 1], img[..., 2]
        return int(((r > 0.7) & (g < 0.3) & (b < 0.3)).sum())

    assert red_pixels(timing_png(_stats([30.0, 31.0]))) > 20
    assert red_pixels(timing_png(_stats([30.0, 31.0], limit=None, typical=None))) == 0


def test_plots_without_limits_or_with_a_single_value_work():
    for stats in (_stats([0.2]), _stats([0.0, 0.1], limit=None, typical=None)):
        _image(timing_png(stats))


def test_data_uri_round_trips():
    png = timing_png(_stats([3.0]))
    uri = data_uri(png)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == png


def test_axis_labels_in_the_units_a_person_reads():
    from harness.report.plots import human_ticks, tick_label

    assert [tick_label(v) for v in (0, 0.25, 12, 600, 1800, 3600, 5400)] == [
        "0",
        "250 ms",
        "12 s",
        "10 min",
        "30 min",
        "1 h",
        "1.5 h",
    ]
    ticks = human_ticks(0, 3888)
    assert ticks[:3] == [0, 600, 1200] and all(t % 600 == 0 for t in ticks)
    assert human_ticks(0, 1.2) == [0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2]


def test_a_single_backoff_sample_reads_as_one_hour_not_3_6e03_s():
    from harness.report.plots import _title

    one = CommandStats(
        "back-off before reboot 4", (3600.0,), None, None, ("PWR-BACKOFF",), ("pass",)
    )
    assert _title(one, [3600.0]) == (
        "back-off before reboot 4: one measurement, 1 h, no documented limit"
    )
    _image(timing_png(one))


def test_the_legend_names_the_limit_the_marginal_line_and_the_typical_band(monkeypatch):
    from matplotlib.axes import Axes

    seen = {}
    original = Axes.legend

    def spy(self, *args, **kwargs):
        seen["labels"] = [h.get_label() for h in kwargs.get("handles", [])]
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "legend", spy)
    timing_png(_stats([3.1, 6.0, 95.0]))
    assert seen["labels"][:3] == ["typical 2–5 s", "limit 90 s", "marginal above 72 s"]
    assert "pass" in seen["labels"]  # the points, by verdict
