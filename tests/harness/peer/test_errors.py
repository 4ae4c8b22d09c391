"""The peer's errors sit in the project's one taxonomy: a peer that cannot be reached or used is
a rig fault (no verdict on the module); a bad address, token, limit or request is a usage error."""

from __future__ import annotations

import sys

import pytest

from harness.errors import Category, RigFault, UsageFault, category_of
from harness.peer import PeerError, PeerServer, PeerStartError, PeerTimeout, PeerUnreachable
from harness.peer.errors import RequestError, shown


@pytest.mark.parametrize("cls", [PeerError, PeerUnreachable, PeerTimeout])
def test_client_errors_are_rig_faults_and_keep_their_fields(cls):
    e = cls("peer at x refused", reason="why", status=409, url="http://x")
    assert isinstance(e, RigFault) and category_of(e) is Category.RIG_FAULT
    assert (e.reason, e.status, e.url) == ("why", 409, "http://x")


def test_start_and_request_errors_are_usage_errors(clock):
    with pytest.raises(PeerStartError) as start:
        PeerServer(control=("0.0.0.0", 0), clock=clock)
    assert category_of(start.value) is Category.USAGE_ERROR
    refused = RequestError(400, "conn must be a connection id, not 'x'", "bad id")
    assert isinstance(refused, UsageFault) and refused.kind == "bad id"
    with pytest.raises(PeerStartError, match="idle timeout"):
        PeerServer(clock=clock, idle_timeout=-1)


def test_shown_quotes_a_value_briefly_and_never_fails():
    assert shown("abc") == "'abc'"
    assert len(shown("x" * 10_000)) == 40 and shown("x" * 10_000).endswith("…")
    digits = sys.get_int_max_str_digits()
    assert "too large" in shown(10 ** (digits + 10))  # repr() of it would raise ValueError


def test_a_refused_token_stops_the_run_but_a_bad_request_is_the_harness_own(token_server, clock):
    from harness.errors import stops_run
    from harness.peer import PeerControl
    from harness.peer.errors import PeerRequestRefused

    with pytest.raises(PeerError) as wrong_token:
        PeerControl(token_server.control_url, token="not-the-token-at-all", clock=clock).info()
    assert wrong_token.value.status in (401, 403)
    assert category_of(wrong_token.value) is Category.RIG_FAULT and stops_run(wrong_token.value)

    peer = PeerControl(token_server.control_url, token=token_server.token, clock=clock)
    with pytest.raises(PeerRequestRefused) as bad:
        peer.stats(999_999)  # no such connection: the harness asked wrongly
    assert bad.value.status == 404
    assert category_of(bad.value) is Category.HARNESS_ERROR and not stops_run(bad.value)
