"""The browser's formatters (assets/torrentdesk.js) and the server's (torrentdesk/ui/format.py)
spell states alike and agree on what is active."""

import json
import re
from pathlib import Path

from torrentdesk.clients.base import TorrentState
from torrentdesk.ui import format as fmt

JS = (Path(__file__).resolve().parents[1] / "assets" / "torrentdesk.js").read_text()


def _js_object(name: str) -> dict[str, str]:
    body = re.search(rf"const {name} = \{{(.*?)\}};", JS, re.S)[1]
    return dict(re.findall(r'(\w+): "([^"]*)"', body))


def test_every_state_is_spelled_once_alike_in_python_and_javascript():
    states = set(TorrentState.__args__)
    assert set(fmt.STATE_LABELS) == states
    assert _js_object("STATE_LABELS") == {**fmt.STATE_LABELS, "stale": "Stale"}
    assert fmt.state("metadata") == "Metadata" and fmt.state(None) == ""


def test_active_states_agree():
    js = re.search(r"const ACTIVE_STATES = new Set\((\[.*?\])\);", JS)[1]
    assert set(json.loads(js)) == fmt.ACTIVE_STATES <= set(TorrentState.__args__)


def test_unknown_size():
    assert (
        fmt.torrent_size(None)
        == "unknown"
        == json.loads(re.search(r"const UNKNOWN_SIZE = (\"\w+\");", JS)[1])
    )
    assert fmt.torrent_size(0) == "0 B" and fmt.torrent_size(1536) == "1.50 KiB"
