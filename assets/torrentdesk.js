// Formatting, safe cell renderers and the external filter of the torrent grid.
//
// Torrent names, labels, server names and error messages come from remote servers: they are
// only ever put into the page through `textContent` / `title`, never as HTML. AG Grid treats a
// string returned by a cell renderer as HTML, so every renderer here returns a DOM element.
// The same formatting lives in torrentdesk/ui/format.py for text rendered by the server.
(function () {
  "use strict";

  const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  // One spelling per state, as torrentdesk/ui/format.py's STATE_LABELS.
  const STATE_LABELS = {
    downloading: "Downloading",
    seeding: "Seeding",
    stopped: "Stopped",
    checking: "Checking",
    queued: "Queued",
    metadata: "Metadata",
    stale: "Stale",
  };
  // What the "Active" filter and the header's active count take as active (ACTIVE_STATES).
  const ACTIVE_STATES = new Set(["downloading", "seeding", "metadata"]);
  const UNKNOWN_SIZE = "unknown"; // a magnet without its metadata: size null
  // The labels / trackers value of a torrent without any (NO_LABEL, NO_TRACKER in totals.py).
  const NO_LABEL = "";
  const NO_TRACKER = "";

  function size(bytes) {
    if (bytes === null || bytes === undefined || Number.isNaN(Number(bytes))) return "";
    let value = Number(bytes);
    let unit = 0;
    while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
      value /= 1024;
      unit += 1;
    }
    if (unit === 0) return `${Math.round(value)} B`;
    const digits = value < 10 ? 2 : value < 100 ? 1 : 0;
    return `${value.toFixed(digits)} ${UNITS[unit]}`;
  }

  function torrentSize(bytes) {
    return bytes === null ? UNKNOWN_SIZE : size(bytes);
  }

  function stateLabel(value) {
    return STATE_LABELS[value] || value || "";
  }

  function speed(rate) {
    return rate > 0 ? `${size(rate)}/s` : "";
  }

  // Only a downloading torrent has an ETA: a stopped, seeding or checking one shows none.
  function eta(seconds, state) {
    if (state !== "downloading") return "";
    if (seconds === null || seconds === undefined || seconds < 0) return "∞";
    const s = Math.floor(seconds);
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
    return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
  }

  function ratio(value) {
    return value === null || value === undefined || value < 0 ? "" : Number(value).toFixed(2);
  }

  // A speed axis tick in the axis' one unit (torrentdesk/ui/format.py speed_axis picks it).
  function speedTick(rate, unitBytes, unitName) {
    if (!rate) return "0";
    return `${Number((rate / unitBytes).toFixed(2))} ${unitName}/s`;
  }

  // YYYY-MM-DD HH:MM in local time, as format.py's DATE_FORMAT.
  function date(unixSeconds) {
    if (!unixSeconds) return "";
    const d = new Date(unixSeconds * 1000);
    const two = (n) => String(n).padStart(2, "0");
    return (
      `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
      `${two(d.getHours())}:${two(d.getMinutes())}`
    );
  }

  function percent(progress) {
    const p = Math.max(0, Math.min(1, Number(progress) || 0)) * 100;
    return p >= 100 ? "100%" : `${p.toFixed(1)}%`;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // The filter as RowFilter (services/totals.py): per section the chosen values (a Set; empty
  // keeps every row), and the search words.
  function compileFilter(filter) {
    const set = (values) => new Set(values || []);
    return {
      states: set(filter.states),
      servers: set(filter.servers),
      labels: set(filter.labels),
      trackers: set(filter.trackers),
      words: filter.words || [],
    };
  }

  const state = {
    filter: compileFilter({}),
    colors: {},
    copies: new Map(), // info hash -> how many of the page's servers hold it
  };

  // A torrent on several servers: its badge searches for its hash, which shows those rows.
  function copiesBadge(data) {
    const count = state.copies.get(data.info_hash) || 0;
    if (count < 2) return null;
    const badge = el("button", "td-badge td-badge-copies", `×${count}`);
    badge.type = "button";
    badge.title = `On ${count} servers: show them`;
    badge.setAttribute("aria-label", `On ${count} servers: show them`);
    badge.addEventListener("click", (event) => {
      event.stopPropagation();
      const input = document.querySelector(".td-search input");
      if (!input) return;
      input.value = data.info_hash;
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
    return badge;
  }

  // Keeps `state.copies` with the grid's rows; true when a count changed.
  function countCopies(message, rowsOf) {
    const hashOf = (id) => id.slice(id.lastIndexOf(":") + 1);
    if (message.load) state.copies = new Map();
    const before = new Map(state.copies);
    for (const row of rowsOf.added) {
      state.copies.set(row.info_hash, (state.copies.get(row.info_hash) || 0) + 1);
    }
    for (const id of message.remove || []) {
      const hash = hashOf(id);
      const left = (state.copies.get(hash) || 1) - 1;
      if (left > 0) state.copies.set(hash, left);
      else state.copies.delete(hash);
    }
    for (const [hash, count] of state.copies) if (before.get(hash) !== count) return true;
    for (const hash of before.keys()) if (!state.copies.has(hash)) return true;
    return false;
  }

  function nameRenderer(params) {
    const wrap = el("span", "td-name-cell");
    const data = params.data || {};
    if (data.error) {
      const error = el("span", "td-name-error", "!");
      error.title = String(data.error);
      wrap.appendChild(error);
    }
    if (data.warning) {
      const warning = el("span", "td-name-warning"); // its "!" is drawn by CSS
      warning.title = String(data.warning);
      wrap.appendChild(warning);
    }
    const name = el("span", "td-name", params.value);
    name.title = String(params.value ?? "");
    wrap.appendChild(name);
    if (data.stale) wrap.appendChild(el("span", "td-badge td-badge-stale", "stale"));
    const copies = copiesBadge(data);
    if (copies) wrap.appendChild(copies);
    return wrap;
  }

  function serverRenderer(params) {
    const data = params.data || {};
    const badge = el("span", "td-server-badge", params.value);
    const color = state.colors[data.server_id];
    if (color) badge.style.setProperty("--td-server-color", color);
    badge.title = `${params.value ?? ""} (${data.server_type ?? ""})`;
    return badge;
  }

  // Each label a small tag, set as text (labels come from the servers).
  function labelsRenderer(params) {
    const wrap = el("span", "td-labels", "");
    for (const label of params.value || []) wrap.appendChild(el("span", "td-label", label));
    wrap.title = (params.value || []).join(", ");
    return wrap;
  }

  // The state column shows the row's `state` (Stale while its server is unreachable), as the
  // filter and the details read it; errors and tracker warnings are markers beside the name.
  // These are the rules of torrentdesk/services/totals.py (shown_state, search_text, state_keys,
  // facet_keys, RowFilter.passes), which count what the header and the filter panel show: keep
  // the two in step (tests/test_filter_agreement.py runs both on the same rows).
  function stateOf(data) {
    if (data.stale) return "stale";
    return data.state || "";
  }

  function searchText(data) {
    return [data.name, ...(data.labels || []), data.info_hash, data.tracker, data.server_name]
      .filter((f) => f)
      .join("\n")
      .toLowerCase();
  }

  function stateRenderer(params) {
    const data = params.data || {};
    const shown = stateOf(data);
    const wrap = el("span", `td-state td-state-${shown}`);
    wrap.appendChild(el("span", "td-state-dot"));
    wrap.appendChild(el("span", "td-state-text", stateLabel(shown)));
    return wrap;
  }

  function progressRenderer(params) {
    const data = params.data || {};
    const wrap = el("div", "td-progress");
    if (data.progress >= 1) wrap.classList.add("td-progress-done");
    if (data.state === "stopped") wrap.classList.add("td-progress-stopped");
    const bar = el("div", "td-progress-bar");
    bar.style.width = `${Math.max(0, Math.min(1, Number(data.progress) || 0)) * 100}%`;
    wrap.appendChild(bar);
    wrap.appendChild(el("span", "td-progress-label", percent(data.progress)));
    return wrap;
  }

  function etaSort(a, b) {
    const x = a === null || a === undefined || a < 0 ? Infinity : a;
    const y = b === null || b === undefined || b < 0 ? Infinity : b;
    return x === y ? 0 : x < y ? -1 : 1;
  }

  // state_keys in totals.py: the shown state, and "active", "complete", "error" when they hold.
  function stateKeys(data) {
    const shown = stateOf(data);
    const keys = [shown];
    if (ACTIVE_STATES.has(shown)) keys.push("active");
    if (data.progress >= 1) keys.push("complete");
    if (data.error || data.stale) keys.push("error");
    return keys;
  }

  // A section keeps a row when nothing is chosen in it or the row has one of the chosen values.
  function keeps(chosen, values) {
    return chosen.size === 0 || values.some((value) => chosen.has(value));
  }

  function passes(node) {
    const data = node.data;
    if (!data) return true;
    const f = state.filter;
    if (f.words.length) {
      const text = searchText(data);
      if (!f.words.every((word) => text.includes(word))) return false;
    }
    const labels = data.labels && data.labels.length ? data.labels : [NO_LABEL];
    return (
      keeps(f.servers, [data.server_id || ""]) &&
      keeps(f.labels, labels) &&
      keeps(f.trackers, [data.tracker || NO_TRACKER]) &&
      keeps(f.states, stateKeys(data))
    );
  }

  // Called from Python with the grid's element id: new filter and/or server colors.
  function configure(gridId, config) {
    if (config.filter) state.filter = compileFilter(config.filter);
    if (config.colors) state.colors = { ...config.colors };
    const api = window.getElement && getElement(gridId)?.api;
    if (!api) return;
    if (config.filter) api.onFilterChanged();
    if (config.colors) api.refreshCells({ columns: ["server_name"], force: true });
  }

  // Rows as torrentdesk/ui/torrent_grid.py's pack_rows sends them (one list per field, each
  // server once, the few distinct values of some fields once) back into row objects.
  function unpack(packed) {
    const { servers, columns, lookups } = packed;
    const fields = Object.keys(columns).filter((f) => f !== "server");
    const lists = fields.map((f) => {
      const values = lookups[f];
      return values ? columns[f].map((i) => values[i]) : columns[f];
    });
    return columns.server.map((s, i) => {
      const [serverId, serverName, serverType] = servers[s];
      const row = { server_id: serverId, server_name: serverName, server_type: serverType };
      for (let f = 0; f < fields.length; f += 1) row[fields[f]] = lists[f][i];
      row.id = `${serverId}:${row.info_hash}`;
      return row;
    });
  }

  // Called from Python (TorrentGrid): fill the grid, or apply one transaction. Messages that
  // arrive before the grid is ready wait for it, in order.
  const waiting = new Map(); // grid id -> messages not applied yet
  function rows(gridId, message) {
    const queue = waiting.get(gridId);
    if (queue) {
      queue.push(message);
      return;
    }
    if (!applyRows(gridId, message)) {
      waiting.set(gridId, [message]);
      retryRows(gridId, 0);
    }
  }

  function retryRows(gridId, attempt) {
    setTimeout(() => {
      const queue = waiting.get(gridId) || [];
      while (queue.length && applyRows(gridId, queue[0])) queue.shift();
      if (!queue.length) waiting.delete(gridId);
      else if (attempt < 500) retryRows(gridId, attempt + 1);
      else waiting.delete(gridId); // the grid is gone (the page left)
    }, 20);
  }

  function applyRows(gridId, message) {
    const api = window.getElement && getElement(gridId)?.api;
    if (!api) return false;
    if (message.load) {
      const loaded = unpack(message.load);
      countCopies(message, { added: loaded });
      api.setGridOption("rowData", loaded);
      return true;
    }
    const transaction = {};
    if (message.add) transaction.add = unpack(message.add);
    if (message.update) transaction.update = unpack(message.update);
    if (message.remove) transaction.remove = message.remove.map((id) => ({ id }));
    const counted = countCopies(message, { added: transaction.add || [] });
    api.applyTransaction(transaction);
    if (counted) api.refreshCells({ columns: ["name"], force: true });
    return true;
  }

  window.torrentdesk = {
    size,
    torrentSize,
    stateLabel,
    speed,
    eta,
    ratio,
    date,
    speedTick,
    percent,
    nameRenderer,
    serverRenderer,
    labelsRenderer,
    stateRenderer,
    progressRenderer,
    etaSort,
    passes,
    configure,
    unpack,
    rows,
    state,
  };
})();
