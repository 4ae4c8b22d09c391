"""`modemcert sim`: run one simulated module on a pseudo-terminal until Ctrl+C or SIGTERM.

Prints the device path (open it with picocom, or point a rig at it) and the control address;
`--request OP key=value ...` talks to an already running simulator instead.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from harness.clock import MAX_SCALE, MIN_SCALE, Clock
from harness.gpio.sim import SimPins
from harness.sim.control import ControlError, ControlServer, request
from harness.sim.faults import FAULTS
from harness.sim.httppins import PREFIX as PINS_PREFIX
from harness.sim.httppins import PinServer
from harness.sim.module import SimulatedModule
from harness.sim.mutations import MUTATIONS, UnknownMutation
from harness.sim.net import Resolver
from harness.sim.power import Wiring
from harness.sim.profile import Profile, settable_fields, with_setting
from harness.sim.settings import SettingsError

PRESETS = ("m95", "mc60", "m66", "rough", "seeds")
DEFAULT_CONTROL = "tcp:127.0.0.1:0"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Example: modemcert sim --scale 1 --state-dir ~/.modemcert/sim, then "
        "picocom -b 115200 <device>. Faults and presses at run time: "
        "modemcert sim --control <address> --request inject fault=qiact_fail"
    )
    module = parser.add_argument_group("module")
    module.add_argument("--profile", choices=PRESETS, default="m95", help="module model preset")
    module.add_argument(
        "--set",
        metavar="FIELD=VALUE",
        action="append",
        default=[],
        help="change one profile setting, e.g. cpin_space=false or lat_qiact=0.5,3 "
        "(repeatable; --list-settings shows them)",
    )
    module.add_argument("--seed", type=int, default=0, help="seed of every drawn latency")
    module.add_argument(
        "--mutate", metavar="NAME", action="append", default=[], help="break a behaviour"
    )
    run = parser.add_argument_group("run")
    run.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help=f"wall seconds per module second ({MIN_SCALE}..{MAX_SCALE}; 1 = real time)",
    )
    run.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where AT&W settings persist across runs (default: memory only)",
    )
    run.add_argument(
        "--power",
        choices=("on", "off"),
        default="on",
        help="start powered on, or off until PWRKEY is pressed (default: on)",
    )
    run.add_argument(
        "--control",
        default=DEFAULT_CONTROL,
        metavar="ADDRESS",
        help="control socket: tcp:127.0.0.1:PORT (0 picks one), a Unix socket path, or none",
    )
    run.add_argument("--link", type=Path, help="also make a symlink to the device at this path")
    run.add_argument(
        "--pins-http",
        metavar="ADDRESS",
        help="serve the HAT's pins over HTTP at 127.0.0.1:PORT (0 picks one): GET/PUT "
        "/pins/<BCM> with 1 or 0, for a network GPIO such as labgrid's HttpDigitalOutput",
    )
    net = parser.add_argument_group("network (loopback only)")
    net.add_argument(
        "--map",
        metavar="FOREIGN=LOCAL",
        action="append",
        default=[],
        help="route a dialled address to a loopback one, e.g. 116.226.39.202=127.0.0.1:7007",
    )
    net.add_argument(
        "--host", metavar="NAME=IP", action="append", default=[], help="a name QIOPEN resolves"
    )
    info = parser.add_argument_group("information")
    info.add_argument("--list-settings", action="store_true", help="list profile settings")
    info.add_argument("--list-faults", action="store_true", help="list injectable faults")
    info.add_argument("--list-mutations", action="store_true", help="list mutations")
    info.add_argument(
        "--request",
        nargs="+",
        metavar="OP",
        help="send OP [key=value ...] to the simulator at --control and print the answer",
    )


def main(args: argparse.Namespace) -> int:
    try:
        if args.list_settings or args.list_faults or args.list_mutations:
            return _lists(args)
        if args.request:
            return _client(args)
        return _serve(args)
    except (ValueError, SettingsError, ControlError, UnknownMutation) as exc:
        print(f"modemcert sim: error: {exc}", file=sys.stderr)
        return 2


def _lists(args: argparse.Namespace) -> int:
    if args.list_settings:
        defaults = Profile()
        for name, kind in sorted(settable_fields().items()):
            print(f"{name:24} {kind.__name__:6} {getattr(defaults, name)!r}")
    if args.list_faults:
        for name, fault in sorted(FAULTS.items()):
            params = ", ".join(f"{k}={v}" for k, v in fault.params.items())
            print(f"{name:18} {fault.description}" + (f" [{params}]" if params else ""))
    if args.list_mutations:
        for name, m in sorted(MUTATIONS.items()):
            print(f"{name:34} {', '.join(m.clauses):28} {m.description}")
    return 0


def _client(args: argparse.Namespace) -> int:
    if args.control in (DEFAULT_CONTROL, "none"):
        raise ControlError("--request needs --control with the running simulator's address")
    op, *pairs = args.request
    fields: dict[str, Any] = {}
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ControlError(f"--request argument {pair!r}: expected key=value")
        if key in ("fault", "name", "line", "persistent", "seconds", "on"):
            fields[key] = _value(value)
        else:
            params[key] = _value(value)
    if params:
        fields["params"] = params
    answer = request(args.control, op, **fields)
    print(json.dumps(answer, indent=1))
    return 0 if answer.get("ok") else 1


def _value(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def _profile(args: argparse.Namespace) -> Profile:
    profile = Profile.seeds() if args.profile == "seeds" else Profile.named(args.profile)
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected FIELD=VALUE (see --list-settings)")
        profile = with_setting(profile, name.strip(), value.strip())
    return profile


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"{option} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def _serve(args: argparse.Namespace) -> int:
    profile = _profile(args)
    clock = Clock(args.scale)
    address_map = _pairs(args.map, "--map")
    hosts = {"localhost": "127.0.0.1", **_pairs(args.host, "--host")}
    Resolver(address_map, hosts)  # validates before anything starts
    for name in args.mutate:
        if name not in MUTATIONS:
            raise UnknownMutation(f"unknown mutation {name!r}; see --list-mutations")
    pins = SimPins()
    sim = SimulatedModule(
        profile=profile,
        clock=clock,
        pins=pins,
        wiring=Wiring(),
        state_dir=args.state_dir,
        address_map=address_map,
        hosts=hosts,
        seed=args.seed,
    )
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    control: ControlServer | None = None
    pin_server: PinServer | None = None
    link: Path | None = None
    try:
        sim.start()
        for name in args.mutate:
            sim.mutate(name)
        if args.control != "none":
            control = ControlServer(sim, args.control, pins).start()
        if args.pins_http:
            pin_server = PinServer(pins, sim.wiring, args.pins_http).start()
            print(f"modemcert sim: pins {pin_server.url}{PINS_PREFIX}<BCM>", file=sys.stderr)
        if args.link is not None:
            link = _make_link(args.link, sim.port)
        if args.power == "on":
            sim.power_on_now()
        _banner(sim, profile, args, control, link)
        while not stop.is_set():
            clock.wait(stop, clock.to_module(0.5))  # wakes often so Ctrl+C is seen
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if control is not None:
            control.stop()
        if pin_server is not None:
            pin_server.stop()
        sim.stop()
        if link is not None and link.is_symlink():
            link.unlink()
    print("modemcert sim: stopped", file=sys.stderr)
    return 0


def _make_link(path: Path, target: str) -> Path:
    if path.exists() and not path.is_symlink():
        raise ValueError(f"--link {path}: a file is already there; choose another path")
    if path.is_symlink():
        path.unlink()
    os.symlink(target, path)
    return path


def _banner(
    sim: SimulatedModule,
    profile: Profile,
    args: argparse.Namespace,
    control: ControlServer | None,
    link: Path | None,
) -> None:
    state = "powered on" if args.power == "on" else "off (press PWRKEY via the control socket)"
    print(f"{sim.port}", flush=True)
    print(
        f"modemcert sim: {profile.model} ({profile.name} profile, seed {args.seed}) on "
        f"{sim.port}{f' ({link})' if link else ''}, {state}, time scale {args.scale}",
        file=sys.stderr,
    )
    if control is not None:
        print(f"modemcert sim: control {control.address}", file=sys.stderr)
    print(
        f"modemcert sim: try  picocom -b 115200 {sim.port}   (Ctrl+C here to stop)", file=sys.stderr
    )
