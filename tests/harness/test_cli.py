"""harness/cli.py: the `modemcert` dispatcher: help, version, usage errors, pass-through options.

Subcommands are stood in for by small fake modules, so nothing here runs a suite or a rig.
"""

import argparse
import importlib.util
import subprocess
import sys
import types
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from harness import __version__, cli

REPO = Path(__file__).resolve().parents[2]


def fake_subcommand(monkeypatch, name="fake", *, passthrough=None, result=0, raises=None):
    """Register `modemcert <name>` backed by an in-memory module; returns the args it got."""
    modname = f"_modemcert_test_{name}"
    module = types.ModuleType(modname)
    seen: list[argparse.Namespace] = []

    def add_arguments(p):
        p.add_argument("--rig", default="sim")
        p.add_argument("--level", type=int, default=1)

    def main(args):
        seen.append(args)
        if raises is not None:
            raise raises
        return result

    module.add_arguments, module.main = add_arguments, main
    if passthrough is not None:
        module.PASSTHROUGH = passthrough
    monkeypatch.setitem(sys.modules, modname, module)
    monkeypatch.setitem(cli.SUBCOMMANDS, name, (modname, f"the {name} stand-in"))
    return seen


# -- help, version, usage ----------------------------------------------------------------------
def test_help_lists_every_subcommand_with_its_help(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: modemcert")
    for name, (_, help_) in cli.SUBCOMMANDS.items():
        assert f"    {name} " in out, name
        assert help_ in out, name


def test_the_documented_subcommands_exist():
    assert set(cli.SUBCOMMANDS) >= {"run", "sim", "peer", "report", "compare", "clauses"}


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"modemcert {__version__}"


def test_no_subcommand_prints_help_and_is_a_usage_error(capsys):
    assert cli.main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_an_unknown_subcommand_is_a_usage_error_naming_the_choices(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["certify"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'certify'" in err
    assert "'run'" in err and "'clauses'" in err


def test_help_imports_no_subcommand_module():
    script = (
        "import sys\n"
        "from harness import cli\n"
        "try:\n"
        "    cli.main(['--help'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "heavy = sorted(m for m in sys.modules\n"
        "    if m.startswith(('harness.', 'pytest', 'matplotlib')) and m != 'harness.cli')\n"
        "print('imported:', *heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "usage: modemcert" in done.stdout
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("imported:")
    assert last.split()[1:] == []


def test_the_console_script_is_this_main():
    scripts = entry_points(group="console_scripts").select(name="modemcert")
    if not scripts:
        pytest.skip("modemcert is not installed in this environment (pip install -e .)")
    (script,) = scripts
    assert script.value == "harness.cli:main"


@pytest.mark.parametrize("name", sorted(cli.SUBCOMMANDS))
def test_each_real_subcommand_has_its_own_help(capsys, name):
    modname, help_ = cli.SUBCOMMANDS[name]
    if importlib.util.find_spec(modname) is None:
        pytest.skip(f"{modname} is not written yet")
    with pytest.raises(SystemExit) as e:
        cli.main([name, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: modemcert {name}")
    assert help_ in out


# -- dispatch ----------------------------------------------------------------------------------
def test_the_chosen_subcommand_gets_its_parsed_arguments(monkeypatch):
    seen = fake_subcommand(monkeypatch, result=3)
    assert cli.main(["fake", "--rig", "bench", "--level", "7"]) == 3
    (args,) = seen
    assert (args.command, args.rig, args.level) == ("fake", "bench", 7)
    assert not hasattr(args, "extra")


def test_a_subcommand_returning_none_exits_0(monkeypatch):
    fake_subcommand(monkeypatch, result=None)
    assert cli.main(["fake"]) == 0


def test_only_the_chosen_subcommand_is_imported(monkeypatch):
    fake_subcommand(monkeypatch)
    monkeypatch.setitem(cli.SUBCOMMANDS, "broken", ("_modemcert_test_no_such_module", "broken"))
    assert cli.main(["fake"]) == 0


def test_a_bad_option_of_a_subcommand_is_a_usage_error(monkeypatch, capsys):
    fake_subcommand(monkeypatch)
    with pytest.raises(SystemExit) as e:
        cli.main(["fake", "--level", "high"])
    assert e.value.code == 2
    assert "--level: invalid int value: 'high'" in capsys.readouterr().err


def test_unknown_options_are_refused_without_passthrough(monkeypatch, capsys):
    seen = fake_subcommand(monkeypatch, passthrough=False)
    with pytest.raises(SystemExit) as e:
        cli.main(["fake", "-k", "qideact"])
    assert e.value.code == 2
    assert "unrecognized arguments: -k qideact" in capsys.readouterr().err
    assert seen == []


def test_passthrough_hands_unknown_options_on_in_order(monkeypatch):
    seen = fake_subcommand(monkeypatch, passthrough=True)
    assert cli.main(["fake", "-k", "qideact", "--rig", "bench", "-x", "--clause", "CLOSE"]) == 0
    (args,) = seen
    assert args.rig == "bench"
    assert args.extra == ["-k", "qideact", "-x", "--clause", "CLOSE"]


def test_passthrough_with_nothing_extra_gives_an_empty_list(monkeypatch):
    seen = fake_subcommand(monkeypatch, passthrough=True)
    cli.main(["fake"])
    assert seen[0].extra == []


def test_ctrl_c_in_a_subcommand_exits_130_with_one_line(monkeypatch, capsys):
    fake_subcommand(monkeypatch, raises=KeyboardInterrupt())
    assert cli.main(["fake"]) == 130
    assert capsys.readouterr().err == "modemcert: interrupted\n"


# -- a subcommand that cannot be loaded --------------------------------------------------------
def test_a_missing_subcommand_module_is_one_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(cli.SUBCOMMANDS, "gone", ("harness._no_such_subcommand", "gone"))
    assert cli.main(["gone", "--rig", "sim"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("modemcert gone: not available in this installation")
    assert "harness._no_such_subcommand" in err
    assert "Traceback" not in err


def test_a_missing_dependency_of_a_subcommand_names_it(monkeypatch, capsys, tmp_path):
    (tmp_path / "_modemcert_test_needs_dep.py").write_text(
        "import _modemcert_test_absent_package\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.SUBCOMMANDS, "needy", ("_modemcert_test_needs_dep", "needy"))
    assert cli.main(["needy"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "modemcert needy: needs the Python module '_modemcert_test_absent_package'"
    )
    assert "pip install" in err


def test_a_missing_module_of_our_own_is_a_bug_and_keeps_its_traceback(monkeypatch, tmp_path):
    (tmp_path / "_modemcert_test_broken_sub.py").write_text(
        "import harness._no_such_layer\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.SUBCOMMANDS, "broken", ("_modemcert_test_broken_sub", "broken"))
    with pytest.raises(ModuleNotFoundError, match=r"harness\._no_such_layer"):
        cli.main(["broken"])
