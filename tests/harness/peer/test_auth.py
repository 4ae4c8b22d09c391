"""Where the control token comes from and how it is checked."""

from __future__ import annotations

import pytest

from harness.peer.auth import TOKEN_ENV, bearer, load_token, token_matches
from harness.peer.errors import PeerStartError

TOKEN = "test-token-0123456789abcdef"


def test_file_wins_over_environment(tmp_path):
    f = tmp_path / "token"
    f.write_text(TOKEN + "\n")
    assert load_token(f, {TOKEN_ENV: "other-token-0123456789"}) == (TOKEN, f"file {f}")
    assert load_token(None, {TOKEN_ENV: TOKEN}) == (TOKEN, f"${TOKEN_ENV}")
    assert load_token(None, {}) == (None, "none")


@pytest.mark.parametrize(
    ("content", "words"),
    [("", "is empty"), ("short", "at least 16"), ("has a space in it!!", "printable ASCII")],
)
def test_bad_token_files(tmp_path, content, words):
    f = tmp_path / "token"
    f.write_text(content)
    with pytest.raises(PeerStartError, match=words):
        load_token(f, {})


def test_missing_token_file(tmp_path):
    with pytest.raises(PeerStartError, match="cannot read the token file"):
        load_token(tmp_path / "nope", {})


def test_matching():
    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(TOKEN[:-1] + "X", TOKEN)
    assert not token_matches(None, TOKEN)
    assert not token_matches("é" * 20, TOKEN)
    assert bearer(f"Bearer {TOKEN}") == TOKEN and bearer(f"bearer  {TOKEN} ") == TOKEN
    assert bearer(f"Basic {TOKEN}") is None and bearer(None) is None
