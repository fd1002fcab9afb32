// ClusterExplorer front end (anywidget ESM). Python owns all computation; this module
// wires the view together: it builds the DOM once, keeps the shared state `S`, turns
// user actions into trait changes / requests and registers every listener in one
// registry, torn down when the view is removed. The parts mirror the Python side:
//   toolbar.js  controls and the message area     protocol.js  requests / responses
//   draw.js     the ECG canvases and tooltip        panels.js    info, legend, summary, cards
//   decode.js   the array traits (views/traits.py)  validate.js  checks before sending
//   shell.js    the DOM, built once                 page.js      resize, theme, connection
// render() below wires the parts, one function per concern: the shared state and the
// commands on it (createCore), pointer input, keyboard and controls, trait listeners,
// and the page around the view.
// DOM built here lives as long as the view: controls, legend items and cluster cards
// are updated in place (never rebuilt on a trait change), so typed text, focus and
// scroll positions survive redraws.

import { decodeResponse } from "./decode.js";
import { naturalSpan, xToTime } from "./layout.js";
import { attachPointer, caliperReading, panView } from "./brush.js";
import { readTheme } from "./ecg_view.js";
import { createLabelEditing } from "./labels.js";
import { actionFor } from "./keys.js";
import { makePalette } from "./palette.js";
import { createRegistry } from "./listeners.js";
import { createProtocol } from "./protocol.js";
import { syncToolbar, wireToolbar } from "./toolbar.js";
import { caliperText, createDrawing, track } from "./draw.js";
import { createPanels } from "./panels.js";
import { createActions } from "./actions.js";
import { createKJob } from "./kjob.js";
import { createPlacement } from "./present.js";
import { buildShell } from "./shell.js";
import { watchPage } from "./page.js";
import { checkSelection, checkViewRange } from "./validate.js";

/** @typedef {import("./model_traits.js").ModelTraits} ModelTraits */
/** @typedef {ReturnType<typeof createCore>} Core */

/**
 * The shared state `S` of one view and the commands that change it.
 * @param {any} model
 * @param {HTMLElement} el
 * @param {import("./listeners.js").Registry} reg
 * @param {ReturnType<typeof buildShell>} ui
 */
function createCore(model, el, reg, ui) {
  const doc = el.ownerDocument || document;
  const { root, tb, offlineMsg, calOut, stage, side, summary } = ui;
  const standalone = !!model.standalone;
  /** @type {(key: string, fallback?: any) => any} */
  const get = (key, fallback) => {
    const v = model.get(key);
    return v === undefined || v === null ? fallback : v;
  };

  const cur0 = decodeResponse(model);
  const vr = model.get("view_range");
  const S = {
    cur: cur0, L: null, localSel: null, // selection while dragging, before it is sent
    view: vr && vr.length === 2 ? vr : [0, naturalSpan(cur0.nS / cur0.fs, get("paper_speed", 25))],
    protoLead: Math.min(1, Math.max(0, cur0.nL - 1)), theme: readTheme(el), pal: null,
    occ: null, // {id, idx, n, rid}: the occurrence n / p step from
    hover: null, caliper: null, mode: "brush", sideHidden: false,
    rankPos: { uncertain: -1, atypical: -1 }, // the user's own cursor, from #1
    rankN: { uncertain: 0, atypical: 0 }, dismissed: "",
  };
  S.pal = makePalette(cur0.clusterIds, S.theme.dark);

  const duration = () => (S.cur.nS || 1) / S.cur.fs;
  const labels = () => model.get("cluster_labels") || {};
  const highlight = () => {
    const v = model.get("highlight_cluster");
    return v >= 0 ? v : null;
  };
  const scale = () => {
    const s = Number(get("font_scale", 1)) || 1;
    return get("presentation", false) ? Math.max(1.5, s) : s;
  };
  const visibleLeads = () => {
    const v = model.get("leads") || [];
    return v.length ? v.filter((i) => i < S.cur.nL) : [...Array(S.cur.nL).keys()];
  };
  const placement = createPlacement({ doc, el, root, stage, reg, present: () => !!get("presentation", false) });
  // A view restored from saved widget state without its kernel has no comm: ipywidgets
  // marks it with this class, and save_changes silently does nothing.
  const disconnected = () => !standalone && !!(el.closest && el.closest(".jupyter-widgets-disconnected"));
  const offline = () => standalone || disconnected();

  function save() {
    try {
      model.save_changes();
    } catch (err) {
      // Older managers throw when the comm is gone; the local view keeps working.
      proto.st.noAnswer = true;
    }
  }
  const proto = createProtocol({ model, reg, offline, standalone, save, onState: () => updateBusy() });

  function updateBusy() {
    const v = proto.statusView();
    root.classList.toggle("ecw-busy", v.busy);
    root.classList.toggle("ecw-offline", v.off && !standalone);
    offlineMsg.hidden = !(v.off && !standalone);
    root.dataset.offline = v.off ? "1" : "0";
    tb.status.textContent = v.text;
    tb.status.classList.toggle("ecw-error", v.isError);
  }

  /** A short note in the status line. @param {string} text */
  function flash(text) {
    proto.st.flash = text;
    updateBusy();
  }
  /** Refuse a value here, before it reaches the kernel (which checks it again). */
  const refuse = (why) => flash(`⚠ ${why}`);

  const kjob = createKJob({ model, reg, ui: tb.kjob, offline, save, refuse, onChange: () => syncControls() });
  const env = {
    model, el, S, get, duration, labels, highlight, scale, visibleLeads, fitTarget: placement.fitTarget,
    dom: { ...ui, rankBadges: tb.rankBadges },
  };
  const draw = createDrawing(env);
  const labelEdits = createLabelEditing({
    model, save, flash, refuse, ids: () => S.cur.clusterIds, title: (id) => S.pal.title(id, {}),
    offlineNote: () => offline() && !standalone,
  });
  const panels = createPanels(env, {
    onPick: (id) => pickCluster(id),
    onLabel: labelEdits.edit,
    onExample: (e) => {
      const span = Math.min(duration(), 2);
      const c = e.start_s;
      const v = [Math.max(0, c - span / 2), Math.max(0, c - span / 2) + span];
      if (proto.send({ index: e.record_index })) S.view = v;
    },
  });
  side.append(summary, ui.leadPick, panels.conf, panels.panel.el);

  function syncControls() {
    syncToolbar(tb, model, {
      recordId: S.cur.rec.record_id, get: (k, f) => (k === "message" && get(k, f) === S.dismissed ? "" : get(k, f)),
      mode: S.mode, visibleLeads: visibleLeads(), leadNames: S.cur.rec.lead_names || [],
      kWanted: kjob.wanted(),
    });
    const present = !!get("presentation", false);
    placement.place(present);
    root.classList.toggle("ecw-present", present);
    root.classList.toggle("ecw-side-hidden", S.sideHidden || present);
    root.style.setProperty("--ecw-scale", String(scale()));
    root.classList.toggle("ecw-caliper-mode", S.mode === "caliper");
  }

  // Redraws never move focus, but a card whose cluster went away (K changed) takes its
  // focus with it: keep the keyboard in the widget.
  function keepFocus(fn) {
    const had = root.contains(doc.activeElement);
    fn();
    if (had && !root.contains(doc.activeElement)) root.focus({ preventScroll: true });
  }

  function redrawAll() {
    keepFocus(() => {
      // One palette per answer, made before anything is drawn from it: the legend, the
      // strip and the cards all read S.pal, so they can never show two different K's.
      S.theme = readTheme(el);
      S.pal = makePalette(S.cur.clusterIds, S.theme.dark);
      syncControls();
      panels.drawInfo();
      panels.drawLegend();
      draw.drawBase();
      panels.drawSummary();
      panels.drawClusters();
      panels.drawOcc();
      updateBusy();
    });
  }

  /** Redraw what shows the clusters (after a highlight or label change). */
  function redrawClusters(withSummary = false) {
    keepFocus(() => {
      draw.drawBase();
      panels.drawLegend();
      if (withSummary) panels.drawSummary();
      panels.drawClusters();
      panels.drawOcc();
    });
  }

  function setView(v) {
    S.view = v;
    draw.drawBase();
    if (S.hover) draw.updateTooltip();
  }
  function setViewAndSync(v) {
    setView(v);
    // Keep the window in a trait so it survives re-display, without flooding the comm.
    reg.timeout("view", () => {
      if (!checkViewRange(S.view, duration()).ok) return;
      model.set("view_range", S.view);
      save();
    }, 250);
  }

  function setSelection(sel) {
    S.localSel = null;
    const chk = checkSelection(sel, S.cur.fs, S.cur.nS);
    if (!chk.ok) return refuse(chk.why);
    model.set("selection", chk.value);
    save();
    draw.drawOverlay();
    panels.drawSummary();
  }

  function pickCluster(id) {
    const now = model.get("highlight_cluster");
    model.set("highlight_cluster", now === id ? -1 : id);
    save();
    S.occ = null;
    redrawClusters();
  }

  function setTrait(key, value) {
    model.set(key, value);
    save();
  }

  function setSpeed(speed) {
    const span = naturalSpan(duration(), speed);
    setTrait("paper_speed", speed);
    setViewAndSync(panView([S.view[0], S.view[0] + span], 0, duration()));
  }

  function clearCaliper() {
    S.caliper = null;
    calOut.textContent = "";
    draw.drawOverlay();
  }

  const { doAction, askK } = createActions({
    model, S, proto, kjob, draw, panels, help: ui.help, calOut, tb, get, duration, highlight, updateBusy, refuse,
    setViewAndSync, setSelection, pickCluster, setTrait, syncControls, clearCaliper,
    undoLabels: labelEdits.undo,
  });

  return {
    model, el, doc, reg, ui, S, get, duration, visibleLeads, offline, save, proto, updateBusy, kjob, draw,
    history: labelEdits.history, panels, syncControls, keepFocus, redrawAll, redrawClusters, setView, setViewAndSync, setSelection,
    pickCluster, setTrait, setSpeed, clearCaliper, doAction, askK, refuse,
  };
}

/** Brushing, panning, hovering, calipers and strip clicks on the ECG. @param {Core} c */
function wirePointer(c) {
  const { S, draw, ui } = c;
  attachPointer(ui.overlay, {
    listen: c.reg.dom,
    getLayout: () => S.L, getView: () => S.view, fs: () => S.cur.fs, nSamples: () => S.cur.nS,
    duration: c.duration, mode: () => S.mode,
    onBrush: (sel, final) => {
      if (final) c.setSelection(sel);
      else {
        S.localSel = sel;
        draw.drawOverlay();
      }
    },
    onView: c.setViewAndSync,
    onClick: (p, t) => {
      if (p.kind === "strip") {
        const i = Math.floor(t * S.cur.fs);
        if (i >= 0 && i < S.cur.ids.length) c.pickCluster(S.cur.ids[i]);
      } else if (S.mode === "caliper" && S.caliper) c.clearCaliper();
    },
    onHover: (p, x, y) => {
      S.hover = { p, x, y, t: Math.max(p.t0, Math.min(p.t1, xToTime(p, x))) };
      draw.drawOverlay();
      draw.updateTooltip();
    },
    onLeave: () => {
      if (!S.hover) return;
      S.hover = null;
      draw.drawOverlay();
      draw.updateTooltip();
    },
    onCaliper: (cal, final) => {
      S.caliper = cal;
      const r = caliperReading(cal.p, cal.x0, cal.y0, cal.x1, cal.y1, S.L.pxPerMv);
      ui.calOut.textContent = `calipers: ${caliperText(r)}`;
      ui.calOut.dataset.ms = r.ms.toFixed(1);
      ui.calOut.dataset.mv = r.mv.toFixed(3);
      draw.drawOverlay();
      if (final) ui.root.dataset.caliper = `${r.ms.toFixed(1)},${r.mv.toFixed(3)}`;
    },
  });
  c.reg.dom(ui.overlay, "pointerdown", () => ui.root.focus({ preventScroll: true }));
}

/** Keyboard shortcuts, the toolbar, the legend and the prototype-lead picker. @param {Core} c */
function wireControls(c) {
  const { S, ui, reg, model } = c;
  reg.dom(ui.root, "keydown", (ev) => {
    const tag = (ev.target && ev.target.tagName) || "";
    if (["INPUT", "TEXTAREA", "SELECT"].includes(tag) && ev.key !== "Escape") return;
    if (tag === "BUTTON" && (ev.key === "Enter" || ev.key === " ")) return;
    const a = actionFor(ev);
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    c.doAction(a);
  });
  wireToolbar(ui.tb, reg, {
    doAction: c.doAction, askK: c.askK, setTrait: c.setTrait, setSpeed: c.setSpeed, refuse: c.refuse,
    send: c.proto.send, wanted: c.proto.wanted,
    nRecords: () => model.get("n_records"), recordId: () => S.cur.rec.record_id,
    toggleSide: () => { S.sideHidden = !S.sideHidden; c.syncControls(); c.draw.drawBase(); },
    dismiss: () => { S.dismissed = c.get("message", ""); },
    toggleLead: (i) => {
      const s = new Set(c.visibleLeads());
      if (s.has(i) && s.size > 1) s.delete(i); else s.add(i);
      c.setTrait("leads", [...s].sort((x, y) => x - y));
    },
  });
  reg.dom(ui.legend, "click", (ev) => {
    const b = ev.target.closest && ev.target.closest(".ecw-legend-item");
    if (b) c.pickCluster(Number(b.dataset.clusterId));
  });
  reg.dom(ui.leadPick, "change", () => {
    S.protoLead = Number(ui.leadPick.value);
    c.panels.drawClusters();
    if (c.get("band_style", "light") === "lead" || model.get("ecg_layout") === "3x4") c.draw.drawBase();
  });
}

/** Redraw what each trait change touches. @param {Core} c */
function wireTraits(c) {
  const { S, model, reg, draw, panels } = c;
  const on = (key, fn) => reg.model(model, `change:${key}`, fn);
  // Deferred to a microtask: a host may apply one update's traits one at a time, firing
  // each change as it goes (marimo does; ipywidgets orders them by hash seed), so the
  // answer is drawn only once n_clusters, bands and the rest of the update are in.
  on("response_id", () => queueMicrotask(() => {
    if (!c.proto.accept()) {
      c.updateBusy(); // a stale answer: keep showing the previous view until ours arrives
      return;
    }
    if (c.kjob.overtaken((model.get("record") || {}).k, S.cur.rec.k)) {
      c.updateBusy(); // the answer to a K change the user has since replaced: not drawn
      return;
    }
    const prevRecord = S.cur.rec.index;
    S.cur = decodeResponse(model);
    const rk = S.cur.rec.rank;
    if (rk && rk.source === "ui" && rk.key in S.rankPos) {
      S.rankPos[rk.key] = rk.pos;
      S.rankN[rk.key] = rk.n;
    }
    if (S.cur.rec.index !== prevRecord) {
      // Another ECG: the old brush, occurrence, calipers and hover do not apply to it.
      S.localSel = null;
      S.occ = null;
      S.caliper = null;
      c.ui.calOut.textContent = "";
      S.hover = null;
      c.ui.tip.hidden = true;
      if (!(model.get("view_range") || []).length) S.view = [0, naturalSpan(c.duration(), c.get("paper_speed", 25))];
    }
    // The K change's progress goes first: the toolbar it sits in is above the ECG, whose
    // fitted height is measured when it is drawn (drawn under a progress line that then
    // went away, the ECG kept the smaller height until the next redraw).
    c.kjob.onAnswer();
    c.redrawAll();
  }));
  for (const key of ["busy", "status", "error"]) on(key, c.updateBusy);
  for (const key of ["message", "labels_report", "gradcam_unavailable"]) on(key, c.syncControls);
  const onLook = () => c.keepFocus(() => { c.syncControls(); draw.drawBase(); });
  for (const key of ["ecg_layout", "leads", "show_gradcam", "band_style", "gain", "paper_speed",
    "font_scale", "presentation", "fit_height"]) on(key, onLook);
  on("cluster_labels", () => c.redrawClusters(true));
  on("selection", () => { draw.drawOverlay(); panels.drawSummary(); });
  on("highlight_cluster", () => c.redrawClusters());
  on("view_range", () => {
    const v = model.get("view_range");
    if (v && v.length === 2 && (v[0] !== S.view[0] || v[1] !== S.view[1])) c.setView(v);
  });
  reg.model(model, "msg:custom", (msg) => { if (msg && msg.type === "pong") c.proto.onPong(); });
}

/** @param {{model: any, el: HTMLElement}} ctx */
function render({ model, el }) {
  const tRender = performance.now();
  const reg = createRegistry();
  const ui = buildShell(el.ownerDocument || document);
  el.appendChild(ui.root);
  const c = createCore(model, el, reg, ui);
  wirePointer(c);
  wireControls(c);
  wireTraits(c);
  watchPage(c);
  c.redrawAll();
  reg.onTeardown(() => { for (const card of c.panels.panel.cards.values()) card.editor.flush(); });
  // Hooks for tests and benchmarks: the geometry of the current drawing, the number of
  // registered listeners, and `send` (a trait change as another front end could send
  // it, bypassing this view's own checks: the kernel must still refuse bad values).
  const { S } = c;
  ui.root.__ecw = {
    layout: () => S.L, view: () => S.view.slice(), palette: () => S.pal, listeners: () => reg.size(),
    history: () => c.history.sizes(),
    // How often the kept paper / trace layers were painted; `layers(false)` draws afresh.
    layers: (on) => {
      if (on !== undefined) { c.draw.layerStats.enabled = !!on; c.draw.drawBase(); }
      return { ...c.draw.layerStats };
    },
    get: (key) => model.get(key), send: (key, value) => { model.set(key, value); c.save(); },
  };
  ui.root.dataset.ready = "1";
  track("render", tRender);
  return () => reg.teardown();
}

export default { render };
