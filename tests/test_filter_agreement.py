"""The browser's filter (`passes` in assets/torrentdesk.js, run here by Node) keeps exactly the
rows that RowFilter (services/totals.py) keeps — the rows the header and the filter panel count —
over the same rows and the same filters: states, servers, labels, trackers and search words,
alone and combined, with the awkward values (no labels, an empty label, no tracker, stale rows,
errors, unknown states, unicode, upper case)."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
from pathlib import Path

from tests.daemons.common import require_tool
from tests.ui_fixtures import make_row
from torrentdesk.services.totals import NO_LABEL, NO_TRACKER, RowFilter, search_words
from torrentdesk.ui.torrent_grid import filter_config

JS = Path(__file__).resolve().parents[1] / "assets" / "torrentdesk.js"

# Loads the page's script as it is (it only needs `window`), then, per filter, configures it as
# the page does and runs the grid's external filter over every row.
NODE_SCRIPT = """
globalThis.window = globalThis;
require(process.argv[1]);
const { rows, filters } = JSON.parse(require("fs").readFileSync(0, "utf8"));
const kept = filters.map((filter) => {
  window.torrentdesk.configure(0, { filter });
  return rows.filter((data) => window.torrentdesk.passes({ data })).map((data) => data.id);
});
process.stdout.write(JSON.stringify(kept));
"""

STATES = ["downloading", "seeding", "stopped", "checking", "queued", "metadata", None, "odd"]
LABEL_SETS = [
    [],
    None,
    ["linux"],
    ["linux", "iso"],
    ["Ünïcödé label", "ΟΔΟΣ"],
    ["with space", "$HOME;x"],
    ["linux", "linux"],  # read twice from a daemon: one value
    [""],  # an empty piece: the same as no label
]
TRACKERS = [None, "", "tracker.example.org", "İstanbul.tracker.tr", "open.tracker.io"]
WORDS = ["", "torrent", "TORRENT 1", "linux", "ünï", "οδος", "i̇stanbul", "example", "box-b", "zz"]


def _rows() -> list[dict]:
    rng = random.Random(11)
    rows = []
    for n in range(400):
        row = make_row(rng.choice("abc"), n)
        rows.append(
            row
            | dict(
                state=rng.choice(STATES),
                labels=rng.choice(LABEL_SETS),
                tracker=rng.choice(TRACKERS),
                stale=rng.random() < 0.15,
                error=rng.choice([None, None, None, "", "No data found"]),
                progress=rng.choice([0.0, 0.5, 1.0, None]),
                name=rng.choice([row["name"], f"ΟΔΟΣ İstanbul {n}", f"Ünï {n}"]),
            )
        )
    return rows


def _filters() -> list[RowFilter]:
    rng = random.Random(12)
    choices = {
        "states": ["downloading", "seeding", "stopped", "active", "complete", "error", "stale"],
        "servers": ["a", "b", "c", "nowhere"],
        "labels": [NO_LABEL, "linux", "iso", "Ünïcödé label", "$HOME;x", "LINUX"],
        "trackers": [NO_TRACKER, "tracker.example.org", "İstanbul.tracker.tr", "gone.org"],
    }
    filters = [RowFilter(words=search_words(w)) for w in WORDS]
    for name, values in choices.items():  # each value alone, and pairs in one section
        filters += [RowFilter(**{name: {v}}) for v in values]
        filters += [RowFilter(**{name: set(p)}) for p in itertools.combinations(values, 2)]
    for _ in range(300):  # sections and the search together
        picked = {
            name: set(rng.sample(values, rng.choice([0, 0, 1, 2])))
            for name, values in choices.items()
        }
        filters.append(RowFilter(**picked, words=search_words(rng.choice(WORDS))))
    return filters


def test_the_browser_keeps_exactly_the_rows_rowfilter_keeps() -> None:
    node = require_tool("node")
    rows, filters = _rows(), _filters()
    payload = json.dumps({"rows": rows, "filters": [filter_config(f) for f in filters]})
    done = subprocess.run(
        [node, "-e", NODE_SCRIPT, str(JS)],
        input=payload,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    kept_by_js = json.loads(done.stdout)
    assert len(kept_by_js) == len(filters)
    sizes = set()
    for row_filter, js_ids in zip(filters, kept_by_js, strict=True):
        python_ids = [row["id"] for row in rows if row_filter.passes(row)]
        assert js_ids == python_ids, row_filter
        sizes.add(len(python_ids))
    # The filters tell rows apart: some keep none, some all, most a part.
    assert 0 in sizes and len(rows) in sizes and len(sizes) > 50
