// The main page's daily paths, in the browser: keyboard shortcuts, dropping a .torrent file or
// a magnet text anywhere, the phone list, the magnet: protocol handler, and system
// notifications while the tab is hidden. Python (torrentdesk/ui/keyboard.py, from_outside.py,
// saved_views.py) installs it with the grid's and the uploader's element ids and receives what
// needs the server through NiceGUI's emitEvent ("td_key", "td_drop").
// Texts from remote servers only ever go in as textContent (see torrentdesk.js).
(function () {
  "use strict";

  const PHONE = window.matchMedia("(max-width: 599.98px)");
  const PHONE_ROW_HEIGHT = 58;
  const PHONE_COLUMN = "phone";
  const page = {
    gridId: null,
    uploadId: null,
    cursor: null, // the row id the arrow keys move from
    hidden: [], // columns a saved view hides (on wider screens)
    rowHeight: null, // the grid's own, restored when leaving the phone layout
    pendingFiles: [],
    installed: false,
  };

  function api() {
    const grid = page.gridId !== null && window.getElement && getElement(page.gridId);
    return grid ? grid.api : null;
  }

  // -- keyboard --

  const TYPING = "input, textarea, select, [contenteditable=''], [contenteditable='true']";
  // Space and Enter belong to a focused control; the shortcuts take them only elsewhere.
  const CONTROL = "button, a[href], [role=button], [role=menuitem], [role=checkbox], " +
    "[role=switch], [role=tab], [role=option], .q-item, .q-btn, .q-toggle, .q-checkbox";

  function overlayOpen() {
    return Boolean(document.querySelector(".q-dialog, .q-menu"));
  }

  function emit(action, extra) {
    emitEvent("td_key", { action, ...(extra || {}) });
  }

  function keydown(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target instanceof Element ? event.target : null;
    if (target && target.closest(TYPING)) return;
    // A dialog or menu closes on Esc by itself (Quasar), and owns every other key meanwhile.
    if (overlayOpen()) return;
    const grid = api();
    const key = event.key;
    const onControl = target && target.closest(CONTROL);
    let handled = true;
    if (key === "/") {
      const search = document.querySelector(".td-search input");
      if (search) search.focus();
    } else if (key === "n" || key === "N") {
      emit("add");
    } else if (key === "a" || key === "A") {
      if (grid) grid.selectAll("filtered");
    } else if (key === " " && !onControl) {
      emit("toggle");
    } else if (key === "Delete") {
      emit("remove");
    } else if (key === "Escape") {
      if (grid) grid.deselectAll();
      page.cursor = null;
    } else if ((key === "ArrowDown" || key === "ArrowUp") && grid) {
      move(grid, key === "ArrowDown" ? 1 : -1, event.shiftKey);
    } else if ((key === "Home" || key === "End") && grid && !onControl) {
      move(grid, key === "Home" ? -Infinity : Infinity, event.shiftKey);
    } else if (key === "?") {
      emit("help");
    } else {
      handled = false;
    }
    if (handled) event.preventDefault();
  }

  // The selection moves one row down or up (Shift extends it), from the last row moved to or
  // clicked, else from the first selected row.
  function move(grid, step, extend) {
    const count = grid.getDisplayedRowCount();
    if (!count) return;
    let index = -1;
    const cursor = page.cursor !== null ? grid.getRowNode(page.cursor) : null;
    if (cursor && cursor.displayed && cursor.rowIndex !== null) index = cursor.rowIndex;
    else {
      const first = grid.getSelectedNodes().filter((n) => n.rowIndex !== null);
      if (first.length) index = Math.min(...first.map((n) => n.rowIndex));
    }
    let next = index < 0 ? (step > 0 ? 0 : count - 1) : index + step;
    next = Math.max(0, Math.min(count - 1, next));
    const node = grid.getDisplayedRowAtIndex(next);
    if (!node) return;
    node.setSelected(true, !extend);
    page.cursor = node.id;
    grid.ensureIndexVisible(next);
    announce(node);
  }

  // Screen readers hear which row the arrows reached (the grid keeps no cell focus).
  function announce(node) {
    const live = document.querySelector(".td-live");
    if (live && node.data) live.textContent = `${node.data.name}, ${node.data.server_name}`;
  }

  // -- the grid: columns a view hides, the phone list --

  function applyColumns() {
    const grid = api();
    if (!grid) return;
    if (page.rowHeight === null) page.rowHeight = grid.getGridOption("rowHeight") || 30;
    const all = grid.getColumns().map((c) => c.getColId()).filter((c) => !c.startsWith("ag-"));
    const phone = PHONE.matches;
    document.body.classList.toggle("td-phone-list", phone);
    if (phone) {
      grid.setColumnsVisible(all.filter((c) => c !== PHONE_COLUMN), false);
      grid.setColumnsVisible([PHONE_COLUMN], true);
    } else {
      const hidden = new Set([...page.hidden, PHONE_COLUMN]);
      grid.setColumnsVisible(all.filter((c) => !hidden.has(c)), true);
      grid.setColumnsVisible(all.filter((c) => hidden.has(c)), false);
    }
    const height = phone ? PHONE_ROW_HEIGHT : page.rowHeight;
    if (grid.getGridOption("rowHeight") !== height) {
      grid.setGridOption("rowHeight", height);
      grid.resetRowHeights();
    }
  }

  function setHidden(columns) {
    page.hidden = [...columns];
    applyColumns();
  }

  // One row of the phone list: the name on its first line; the server badge, state, progress
  // and speeds on the second. Built from the table's own renderers.
  function phoneRenderer(params) {
    const data = params.data || {};
    const td = window.torrentdesk;
    const wrap = document.createElement("div");
    wrap.className = "td-phone-row";
    const top = td.nameRenderer({ value: data.name, data });
    top.classList.add("td-phone-name");
    const line = document.createElement("div");
    line.className = "td-phone-line";
    line.appendChild(td.serverRenderer({ value: data.server_name, data }));
    line.appendChild(td.stateRenderer({ data }));
    const progress = td.progressRenderer({ data });
    progress.classList.add("td-phone-progress");
    line.appendChild(progress);
    const speeds = [];
    if (data.download_rate > 0) speeds.push(`↓ ${td.speed(data.download_rate)}`);
    if (data.upload_rate > 0) speeds.push(`↑ ${td.speed(data.upload_rate)}`);
    const speed = document.createElement("span");
    speed.className = "td-phone-speed";
    speed.textContent = speeds.join(" ");
    line.appendChild(speed);
    wrap.appendChild(top);
    wrap.appendChild(line);
    return wrap;
  }

  // -- dropping a .torrent file or a magnet text anywhere --

  const LINK = /^(magnet:\?\S+|https?:\/\/\S+)$/i;

  function carries(event) {
    const types = [...(event.dataTransfer ? event.dataTransfer.types : [])];
    return types.includes("Files") || types.includes("text/plain") ||
      types.includes("text/uri-list");
  }

  function inUploader(event) {
    return event.target instanceof Element && event.target.closest(".q-uploader");
  }

  function dragover(event) {
    if (!carries(event) || inUploader(event)) return;
    event.preventDefault(); // without it the browser would open the file instead
    event.dataTransfer.dropEffect = "copy";
    document.body.classList.add("td-dropping");
  }

  function dragleave(event) {
    if (!event.relatedTarget) document.body.classList.remove("td-dropping");
  }

  function drop(event) {
    document.body.classList.remove("td-dropping");
    if (!carries(event) || inUploader(event)) return;
    event.preventDefault();
    const files = [...event.dataTransfer.files].filter(
      (f) => /\.torrent$/i.test(f.name) || f.type === "application/x-bittorrent",
    );
    const text = event.dataTransfer.getData("text/uri-list") ||
      event.dataTransfer.getData("text/plain") || "";
    const links = text.split(/\s+/).filter((t) => LINK.test(t));
    if (!files.length && !links.length) return;
    page.pendingFiles = files;
    emitEvent("td_drop", { links, files: files.length });
  }

  // The add dialog is open (its uploader mounting): hand it the dropped files.
  function feedUploader(uploadId) {
    const files = page.pendingFiles;
    page.pendingFiles = [];
    if (!files.length) return;
    let tries = 0;
    const attempt = () => {
      const upload = window.getElement && getElement(uploadId);
      const uploader = upload && upload.$refs && upload.$refs.qRef;
      if (uploader) uploader.addFiles(files);
      else if (tries++ < 50) setTimeout(attempt, 40);
    };
    attempt();
  }

  // -- magnet: links --

  // "ok", or why the browser cannot make this page the magnet handler.
  function protocolSupport() {
    if (!window.isSecureContext) return "insecure";
    if (typeof navigator.registerProtocolHandler !== "function") return "unsupported";
    return "ok";
  }

  function registerMagnet() {
    const support = protocolSupport();
    if (support !== "ok") return { ok: false, reason: support };
    try {
      navigator.registerProtocolHandler("magnet", `${location.origin}/add?uri=%s`);
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: String(error && error.message ? error.message : error) };
    }
  }

  // -- notifications while the tab is hidden --

  function notificationPermission() {
    return "Notification" in window ? Notification.permission : "unsupported";
  }

  async function askNotifications() {
    if (!("Notification" in window)) return "unsupported";
    if (Notification.permission !== "default") return Notification.permission;
    return Notification.requestPermission();
  }

  function systemNotify(title, body, tag) {
    if (document.visibilityState !== "hidden") return false;
    if (notificationPermission() !== "granted") return false;
    const note = new Notification(String(title), {
      body: String(body || ""),
      tag: tag || undefined,
      icon: "/assets/favicon.svg",
    });
    note.onclick = () => {
      window.focus();
      note.close();
    };
    return true;
  }

  // -- names for what Quasar draws without one (axe-core checks them) --

  // Dialogs take the title on their card; the uploader's pick button and file input, and the
  // loading bar, get a name. Run when the page changes, at most once a frame.
  function nameUnnamed() {
    for (const box of document.querySelectorAll(".q-dialog[role=dialog]:not([aria-label])")) {
      const title = box.querySelector(".q-card .text-lg");
      if (title && title.textContent) box.setAttribute("aria-label", title.textContent);
    }
    for (const input of document.querySelectorAll(".q-uploader__input:not([aria-label])")) {
      input.setAttribute("aria-label", "Choose .torrent files");
      const pick = input.closest("[role=button]");
      if (pick) {
        // The input covers the button and does the picking: the button is its frame only.
        pick.removeAttribute("role");
        pick.setAttribute("tabindex", "-1");
        input.setAttribute("tabindex", "0");
      }
    }
    for (const bar of document.querySelectorAll(".q-loading-bar:not([aria-label])")) {
      bar.setAttribute("aria-label", "Loading");
    }
  }

  let naming = false;
  function scheduleNaming() {
    if (naming) return;
    naming = true;
    requestAnimationFrame(() => {
      naming = false;
      nameUnnamed();
    });
  }

  // -- installing --

  function install(ids) {
    page.gridId = ids.grid;
    page.uploadId = ids.upload;
    const grid = api();
    if (grid) {
      grid.addEventListener("rowClicked", (e) => {
        page.cursor = e.node.id;
      });
    }
    applyColumns();
    if (page.installed) return;
    page.installed = true;
    document.addEventListener("keydown", keydown);
    document.addEventListener("dragover", dragover);
    document.addEventListener("dragleave", dragleave);
    document.addEventListener("drop", drop);
    PHONE.addEventListener("change", applyColumns);
    new MutationObserver(scheduleNaming).observe(document.body, { childList: true, subtree: true });
    nameUnnamed();
  }

  window.torrentdesk_page = {
    install,
    setHidden,
    applyColumns,
    phoneRenderer,
    feedUploader,
    protocolSupport,
    registerMagnet,
    notificationPermission,
    askNotifications,
    systemNotify,
    state: page,
  };
})();
