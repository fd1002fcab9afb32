// ClusterExplorer front end (anywidget ESM). Python owns all computation; this module
// wires the view together: it builds the DOM once, keeps the shared state `S`, turns
// user actions into trait changes / requests and registers every listener in one
// registry, torn down when the view is removed. The parts mirror the Python side:
//   toolbar.js  controls and the message area     protocol.js  requests / responses
//   draw.js     the ECG canvases and tooltip        panels.js    info, legend, summary, cards
//   decode.js   the array traits (views/traits.py)  validate.js  checks before sending
// DOM built here lives as long as the view: controls, legend items and cluster cards
// are updated in place (never rebuilt on a trait change), so typed text, focus and
// scroll positions survive redraws.

import { decodeResponse } from "./decode.js";
import { naturalSpan, xToTime } from "./layout.js";
import { attachPointer, caliperReading, panView } from "./brush.js";
import { readTheme } from "./ecg_view.js";
import { createLabelHistory, updateLabels } from "./labels.js";
import { actionFor, buildHelp } from "./keys.js";
import { makePalette } from "./palette.js";
import { h } from "./dom.js";
import { createRegistry } from "./listeners.js";
import { DISCONNECTED, createProtocol } from "./protocol.js";
import { buildToolbar, syncToolbar, wireToolbar } from "./toolbar.js";
import { caliperText, createDrawing, track } from "./draw.js";
import { createPanels } from "./panels.js";
import { createActions } from "./actions.js";
import { createKJob } from "./kjob.js";
import { createPlacement } from "./present.js";
import { checkLabelKey, checkSelection, checkViewRange } from "./validate.js";

/** @typedef {import("./model_traits.js").ModelTraits} ModelTraits */

function render({ model, el }) {
  const tRender = performance.now();
  const doc = el.ownerDocument || document;
  const reg = createRegistry();
  const root = h(doc, "div", "ecw-root");
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.setAttribute("aria-label", "ECG cluster explorer (press ? for keyboard help)");
  el.appendChild(root);
  const standalone = !!model.standalone;
  const get = (key, fallback) => {
    const v = model.get(key);
    return v === undefined || v === null ? fallback : v;
  };

  // ---- DOM ------------------------------------------------------------------
  const tb = buildToolbar(doc);
  const offlineMsg = h(doc, "div", "ecw-offline-msg", `⚠ ${DISCONNECTED}. Brush, zoom, hover and highlighting still work here.`);
  offlineMsg.setAttribute("role", "alert");
  offlineMsg.hidden = true;
  const info = h(doc, "div", "ecw-info");
  const infoText = h(doc, "span", "ecw-info-text");
  const occOut = h(doc, "span", "ecw-occ");
  occOut.setAttribute("aria-live", "polite");
  const calOut = h(doc, "span", "ecw-caliper-out");
  info.append(infoText, occOut, calOut);
  const legend = h(doc, "div", "ecw-legend");
  legend.setAttribute("aria-label", "clusters (click to highlight)");
  const stage = h(doc, "div", "ecw-stage");
  const base = h(doc, "canvas", "ecw-canvas");
  const overlay = h(doc, "canvas", "ecw-overlay");
  const tip = h(doc, "div", "ecw-tooltip");
  tip.hidden = true;
  stage.append(base, overlay, tip);
  const stageCol = h(doc, "div", "ecw-stage-col");
  stageCol.append(legend, stage);
  const side = h(doc, "div", "ecw-side");
  const summary = h(doc, "div", "ecw-summary");
  summary.setAttribute("aria-live", "polite");
  const leadPick = h(doc, "select", "ecw-proto-lead");
  leadPick.setAttribute("aria-label", "prototype lead (also the lead of 'bands: one lead')");
  const main = h(doc, "div", "ecw-main");
  main.append(stageCol, side);
  const help = buildHelp(doc);
  root.append(tb.bar, tb.message, offlineMsg, tb.leadBar, info, main, help);

  // ---- shared state -------------------------------------------------------------
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
  const fitTarget = placement.fitTarget;
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

  /** Refuse a value here, before it reaches the kernel (which checks it again). */
  function refuse(why) {
    proto.st.flash = `⚠ ${why}`;
    updateBusy();
  }

  const kjob = createKJob({ model, reg, ui: tb.kjob, offline, save, refuse, onChange: () => syncControls() });

  const env = {
    model, el, S, get, duration, labels, highlight, scale, visibleLeads, fitTarget,
    dom: { root, stage, legend, side, base, overlay, tip, summary, infoText, occOut, leadPick, rankBadges: tb.rankBadges },
  };
  const draw = createDrawing(env);
  const history = createLabelHistory();
  /** Undo (dir -1) or redo (+1) the last label edit made in this view. */
  function undoLabels(dir) {
    const r = dir < 0 ? history.undo(labels()) : history.redo(labels());
    if (!r) {
      proto.st.flash = dir < 0 ? "nothing to undo" : "nothing to redo";
    } else {
      model.set("cluster_labels", r.labels);
      save();
      proto.st.flash = `${dir < 0 ? "undone" : "redone"}: label of ${S.pal.title(r.id, {})}`;
    }
    updateBusy();
  }
  const panels = createPanels(env, {
    onPick: (id) => pickCluster(id),
    onLabel: (id, name, notes) => {
      const chk = checkLabelKey(id, S.cur.clusterIds);
      if (!chk.ok) return refuse(chk.why);
      const before = labels();
      const after = updateLabels(before, id, name, notes);
      history.record(before, after, id);
      model.set("cluster_labels", after);
      save();
      if (offline() && !standalone) {
        proto.st.flash = "labels are kept in this view only (kernel disconnected)";
        updateBusy();
      }
    },
    onExample: (e) => {
      const span = Math.min(duration(), 2);
      const c = e.start_s;
      const v = [Math.max(0, c - span / 2), Math.max(0, c - span / 2) + span];
      if (proto.send({ index: e.record_index })) S.view = v;
    },
  });
  side.append(summary, leadPick, panels.conf, panels.panel.el);

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

  // ---- interactions ----------------------------------------------------------------
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
    const cur0 = model.get("highlight_cluster");
    model.set("highlight_cluster", cur0 === id ? -1 : id);
    save();
    S.occ = null;
    keepFocus(() => {
      draw.drawBase();
      panels.drawLegend();
      panels.drawClusters();
      panels.drawOcc();
    });
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

  attachPointer(overlay, {
    listen: reg.dom,
    getLayout: () => S.L, getView: () => S.view, fs: () => S.cur.fs, nSamples: () => S.cur.nS, duration,
    mode: () => S.mode,
    onBrush: (sel, final) => {
      if (final) setSelection(sel);
      else {
        S.localSel = sel;
        draw.drawOverlay();
      }
    },
    onView: setViewAndSync,
    onClick: (p, t) => {
      if (p.kind === "strip") {
        const i = Math.floor(t * S.cur.fs);
        if (i >= 0 && i < S.cur.ids.length) pickCluster(S.cur.ids[i]);
      } else if (S.mode === "caliper" && S.caliper) clearCaliper();
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
    onCaliper: (c, final) => {
      S.caliper = c;
      const r = caliperReading(c.p, c.x0, c.y0, c.x1, c.y1, S.L.pxPerMv);
      calOut.textContent = `calipers: ${caliperText(r)}`;
      calOut.dataset.ms = r.ms.toFixed(1);
      calOut.dataset.mv = r.mv.toFixed(3);
      draw.drawOverlay();
      if (final) root.dataset.caliper = `${r.ms.toFixed(1)},${r.mv.toFixed(3)}`;
    },
  });

  const { doAction, askK } = createActions({
    model, S, proto, kjob, draw, panels, help, calOut, tb, get, duration, highlight, updateBusy, refuse,
    setViewAndSync, setSelection, pickCluster, setTrait, syncControls, clearCaliper, undoLabels,
  });

  // ---- DOM listeners (all in the registry) ------------------------------------------
  reg.dom(root, "keydown", (ev) => {
    const tag = (ev.target && ev.target.tagName) || "";
    if (["INPUT", "TEXTAREA", "SELECT"].includes(tag) && ev.key !== "Escape") return;
    if (tag === "BUTTON" && (ev.key === "Enter" || ev.key === " ")) return;
    const a = actionFor(ev);
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    doAction(a);
  });
  reg.dom(overlay, "pointerdown", () => root.focus({ preventScroll: true }));
  wireToolbar(tb, reg, {
    doAction, askK, setTrait, setSpeed, refuse, send: proto.send, wanted: proto.wanted,
    nRecords: () => model.get("n_records"), recordId: () => S.cur.rec.record_id,
    toggleSide: () => { S.sideHidden = !S.sideHidden; syncControls(); draw.drawBase(); },
    dismiss: () => { S.dismissed = get("message", ""); },
    toggleLead: (i) => {
      const s = new Set(visibleLeads());
      if (s.has(i) && s.size > 1) s.delete(i); else s.add(i);
      setTrait("leads", [...s].sort((x, y) => x - y));
    },
  });
  reg.dom(legend, "click", (ev) => {
    const b = ev.target.closest && ev.target.closest(".ecw-legend-item");
    if (b) pickCluster(Number(b.dataset.clusterId));
  });
  reg.dom(leadPick, "change", () => {
    S.protoLead = Number(leadPick.value);
    panels.drawClusters();
    if (get("band_style", "light") === "lead" || model.get("ecg_layout") === "3x4") draw.drawBase();
  });

  // ---- trait listeners --------------------------------------------------------------
  // Deferred to a microtask: a host may apply one update's traits one at a time, firing
  // each change as it goes (marimo does; ipywidgets orders them by hash seed), so the
  // answer is drawn only once n_clusters, bands and the rest of the update are in.
  reg.model(model, "change:response_id", () => queueMicrotask(() => {
    if (!proto.accept()) {
      updateBusy(); // a stale answer: keep showing the previous view until ours arrives
      return;
    }
    if (kjob.overtaken((model.get("record") || {}).k, S.cur.rec.k)) {
      updateBusy(); // the answer to a K change the user has since replaced: not drawn
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
      calOut.textContent = "";
      S.hover = null;
      tip.hidden = true;
      if (!(model.get("view_range") || []).length) S.view = [0, naturalSpan(duration(), get("paper_speed", 25))];
    }
    redrawAll();
    kjob.onAnswer();
  }));
  for (const key of ["busy", "status", "error"]) reg.model(model, `change:${key}`, updateBusy);
  for (const key of ["message", "labels_report", "gradcam_unavailable"]) reg.model(model, `change:${key}`, syncControls);
  const onLook = () => keepFocus(() => { syncControls(); draw.drawBase(); });
  for (const key of ["ecg_layout", "leads", "show_gradcam", "band_style", "gain", "paper_speed",
    "font_scale", "presentation", "fit_height"]) reg.model(model, `change:${key}`, onLook);
  reg.model(model, "change:cluster_labels", () => keepFocus(() => {
    draw.drawBase(); panels.drawLegend(); panels.drawSummary(); panels.drawClusters(); panels.drawOcc();
  }));
  reg.model(model, "change:selection", () => { draw.drawOverlay(); panels.drawSummary(); });
  reg.model(model, "change:highlight_cluster", () => keepFocus(() => {
    draw.drawBase(); panels.drawLegend(); panels.drawClusters(); panels.drawOcc();
  }));
  reg.model(model, "change:view_range", () => {
    const v = model.get("view_range");
    if (v && v.length === 2 && (v[0] !== S.view[0] || v[1] !== S.view[1])) setView(v);
  });
  reg.model(model, "msg:custom", (msg) => { if (msg && msg.type === "pong") proto.onPong(); });

  if (typeof ResizeObserver === "function") {
    let lastW = 0;
    const ro = reg.observer(new ResizeObserver(() => {
      const w = stage.clientWidth;
      if (w && Math.abs(w - lastW) > 4) { lastW = w; draw.drawBase(); }
    }));
    ro.observe(stage);
  }
  const mq = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
  reg.dom(mq, "change", redrawAll);
  // JupyterLab switches themes by swapping CSS variables and these body attributes;
  // canvas colours are read at draw time, so redraw when they change.
  if (typeof MutationObserver === "function" && doc.body) {
    reg.observer(new MutationObserver(() => reg.timeout("theme", redrawAll, 50)))
      .observe(doc.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  }
  // ipywidgets toggles "jupyter-widgets-disconnected" on the view when the comm dies or
  // comes back; watch the view and its ancestors.
  if (typeof MutationObserver === "function") {
    const connObs = reg.observer(new MutationObserver(() => updateBusy()));
    for (let n = el; n && n !== doc.body; n = n.parentElement) {
      connObs.observe(n, { attributes: true, attributeFilter: ["class"] });
    }
  }

  redrawAll();
  // The view may be attached to the page (and marked disconnected) after render returns,
  // so the ancestors above cannot all be watched yet: also check now and then.
  let wasOffline = offline();
  reg.interval(() => {
    if (offline() !== wasOffline) {
      wasOffline = offline();
      updateBusy();
    }
  }, 1000);
  reg.timeout("first-status", updateBusy, 0);
  reg.onTeardown(() => { for (const c of panels.panel.cards.values()) c.editor.flush(); });
  // Hooks for tests and benchmarks: the geometry of the current drawing, the number of
  // registered listeners, and `send` (a trait change as another front end could send
  // it, bypassing this view's own checks: the kernel must still refuse bad values).
  root.__ecw = {
    layout: () => S.L, view: () => S.view.slice(), palette: () => S.pal, listeners: () => reg.size(),
    history: () => history.sizes(),
    get: (key) => model.get(key), send: (key, value) => { model.set(key, value); save(); },
  };
  root.dataset.ready = "1";
  track("render", tRender);

  return () => reg.teardown();
}

export default { render };
