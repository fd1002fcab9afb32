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

import { decodeArray } from "./decode.js";
import { LAYOUTS, naturalSpan, xToTime } from "./layout.js";
import { attachPointer, caliperReading, panView, zoomView } from "./brush.js";
import { BAND_STYLES, occurrences, runs, stepOccurrence } from "./bands.js";
import { readTheme } from "./ecg_view.js";
import { updateLabels } from "./labels.js";
import { actionFor, buildHelp } from "./keys.js";
import { makePalette } from "./palette.js";
import { h } from "./dom.js";
import { createRegistry } from "./listeners.js";
import { DISCONNECTED, createProtocol } from "./protocol.js";
import { buildToolbar, syncToolbar } from "./toolbar.js";
import { caliperText, createDrawing, track } from "./draw.js";
import { createPanels } from "./panels.js";
import { checkInt, checkLabelKey, checkSelection, checkViewRange } from "./validate.js";

/** @typedef {import("./model_traits.js").ModelTraits} ModelTraits */

/** Decode the data traits of the response currently held by the model. */
function snapshot(model) {
  const rec = model.get("record") || {};
  const nL = rec.n_leads || 0;
  const nS = rec.n_samples || 0;
  const sig = decodeArray(model.get("signal")).data;
  const ids = decodeArray(model.get("seg_ids")).data;
  const ent = decodeArray(model.get("entropy")).data;
  const cam = decodeArray(model.get("gradcam")).data;
  const protos = decodeArray(model.get("prototypes"));
  const snips = decodeArray(model.get("example_snips"));
  const clusters = model.get("clusters") || [];
  return {
    rec, nL, nS, fs: rec.fs || 1, sig: sig.length === nL * nS ? sig : new Float32Array(nL * nS),
    ids, segs: runs(ids), ent, cam: cam.length === nS ? cam : null,
    clusters, clusterIds: rec.cluster_ids || clusters.map((c) => c.id),
    protos: protos.data, protoShape: protos.shape, snips: snips.data, snipShape: snips.shape,
    responseId: model.get("response_id"),
  };
}

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
  const cur0 = snapshot(model);
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
  // Height that keeps the whole ECG (with strip, ribbon and axis) in view: the visible
  // height of the scrolling area around the widget (JupyterLab's notebook panel, or the
  // window) minus what the widget shows above the ECG.
  const fitTarget = () => {
    let viewH = (doc.defaultView && doc.defaultView.innerHeight) || 900;
    for (let n = root.parentElement; n && n !== doc.body; n = n.parentElement) {
      const oy = getComputedStyle(n).overflowY;
      if ((oy === "auto" || oy === "scroll") && n.clientHeight > 200) viewH = Math.min(viewH, n.clientHeight);
    }
    const above = stage.getBoundingClientRect().top - root.getBoundingClientRect().top;
    return Math.max(360, viewH - above - 16);
  };
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

  const env = {
    model, el, S, get, duration, labels, highlight, scale, visibleLeads, fitTarget,
    dom: { root, stage, legend, side, base, overlay, tip, summary, infoText, occOut, leadPick, rankBadges: tb.rankBadges },
  };
  const draw = createDrawing(env);
  const panels = createPanels(env, {
    onPick: (id) => pickCluster(id),
    onLabel: (id, name, notes) => {
      const chk = checkLabelKey(id, S.cur.clusterIds);
      if (!chk.ok) return refuse(chk.why);
      model.set("cluster_labels", updateLabels(labels(), id, name, notes));
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
  side.append(summary, leadPick, panels.panel.el);

  function syncControls() {
    syncToolbar(tb, model, {
      recordId: S.cur.rec.record_id, get: (k, f) => (k === "message" && get(k, f) === S.dismissed ? "" : get(k, f)),
      mode: S.mode, visibleLeads: visibleLeads(), leadNames: S.cur.rec.lead_names || [],
    });
    const present = !!get("presentation", false);
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

  function gotoOccurrence(dir) {
    const id = highlight();
    if (id == null) {
      proto.st.flash = "highlight a cluster first (keys 1–9, the legend or a card), then n / p";
      updateBusy();
      return;
    }
    proto.st.flash = "";
    const { cur, view } = S;
    const list = occurrences(cur.segs, id);
    const prev = S.occ && S.occ.id === id && S.occ.rid === cur.responseId ? S.occ.idx : -1;
    const i = stepOccurrence(list, prev, dir, view[0] * cur.fs, view[1] * cur.fs);
    S.occ = { id, idx: i, n: list.length, rid: cur.responseId };
    panels.drawOcc();
    updateBusy();
    if (i < 0) return;
    const r = list[i];
    const span = view[1] - view[0];
    if (span < duration() - 1e-9) {
      const mid = ((r.start + r.end) / 2) / cur.fs;
      setViewAndSync(panView([mid - span / 2, mid + span / 2], 0, duration()));
    }
    setSelection({ start_s: r.start / cur.fs, end_s: r.end / cur.fs, start: r.start, end: r.end });
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

  function rankStep(key, dir) {
    const n = S.rankN[key] || 0;
    let pos = S.rankPos[key] + dir;
    if (pos < 0) pos = n ? n - 1 : 0;
    proto.send({ rank: key, rank_pos: pos, rank_source: "ui" });
  }

  function askK(k) {
    const chk = checkInt(k, model.get("k_min"), model.get("k_max"), "K");
    if (!chk.ok) return refuse(chk.why);
    tb.kValue.textContent = String(chk.value);
    tb.kSlider.value = String(chk.value);
    proto.send({ k: chk.value });
  }

  function doAction(a) {
    const n = model.get("n_records");
    const idx = proto.wanted("index");
    const k = proto.wanted("k");
    const cycle = (key, list, fallback) => {
      const i = list.indexOf(get(key, fallback));
      setTrait(key, list[(i + 1) % list.length]);
    };
    switch (a) {
      case "help": help.hidden = !help.hidden; break;
      case "k+": if (k < model.get("k_max")) askK(k + 1); break;
      case "k-": if (k > model.get("k_min")) askK(k - 1); break;
      case "prev": if (idx > 0) proto.send({ index: idx - 1 }); break;
      case "next": if (idx < n - 1) proto.send({ index: idx + 1 }); break;
      case "uncertain": rankStep("uncertain", 1); break;
      case "atypical": rankStep("atypical", 1); break;
      case "uncertain-prev": rankStep("uncertain", -1); break;
      case "atypical-prev": rankStep("atypical", -1); break;
      case "pan-": setViewAndSync(panView(S.view, -(S.view[1] - S.view[0]) * 0.25, duration())); break;
      case "pan+": setViewAndSync(panView(S.view, (S.view[1] - S.view[0]) * 0.25, duration())); break;
      case "zoom-in": setViewAndSync(zoomView(S.view, (S.view[0] + S.view[1]) / 2, 1.5, duration())); break;
      case "zoom-out": setViewAndSync(zoomView(S.view, (S.view[0] + S.view[1]) / 2, 1 / 1.5, duration())); break;
      case "zoom-reset": setViewAndSync([0, naturalSpan(duration(), get("paper_speed", 25))]); break;
      case "occ+": gotoOccurrence(1); break;
      case "occ-": gotoOccurrence(-1); break;
      case "gradcam": setTrait("show_gradcam", !model.get("show_gradcam")); break;
      case "bands": cycle("band_style", BAND_STYLES, "light"); break;
      case "calipers":
        S.mode = S.mode === "caliper" ? "brush" : "caliper";
        if (S.mode === "brush") { S.caliper = null; calOut.textContent = ""; }
        syncControls();
        draw.drawOverlay();
        break;
      case "present": setTrait("presentation", !get("presentation", false)); break;
      case "layout": cycle("ecg_layout", LAYOUTS, "12x1"); break;
      case "escape":
        if (!help.hidden) { help.hidden = true; break; }
        if (S.caliper) { clearCaliper(); break; }
        setSelection(null);
        if (model.get("highlight_cluster") >= 0) pickCluster(model.get("highlight_cluster"));
        break;
      default:
        if (a.startsWith("cluster")) {
          const j = Number(a.slice(7)) - 1;
          if (j < S.pal.ids.length) pickCluster(S.pal.ids[j]);
        }
    }
  }

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
  reg.dom(tb.prevBtn, "click", () => doAction("prev"));
  reg.dom(tb.nextBtn, "click", () => doAction("next"));
  for (const f of [tb.idxInput, tb.ridInput]) {
    reg.dom(f, "input", () => { f.dataset.typing = "1"; });
    reg.dom(f, "blur", () => { delete f.dataset.typing; });
  }
  const gotoIndex = () => {
    delete tb.idxInput.dataset.typing;
    const v = Math.max(0, Math.min(model.get("n_records") - 1, Math.round(Number(tb.idxInput.value) || 0)));
    if (v !== proto.wanted("index")) proto.send({ index: v });
  };
  const gotoRecord = () => {
    delete tb.ridInput.dataset.typing;
    const r = tb.ridInput.value.trim();
    if (r && r !== S.cur.rec.record_id) proto.send({ record_id: r });
  };
  // "change" alone is not fired by Enter in every browser for number inputs.
  reg.dom(tb.idxInput, "change", gotoIndex);
  reg.dom(tb.ridInput, "change", gotoRecord);
  reg.dom(tb.idxInput, "keydown", (ev) => { if (ev.key === "Enter") gotoIndex(); });
  reg.dom(tb.ridInput, "keydown", (ev) => { if (ev.key === "Enter") gotoRecord(); });
  reg.dom(tb.classSel, "change", () => {
    if (tb.classSel.value) proto.send({ class: tb.classSel.value });
    tb.classSel.value = "";
  });
  reg.dom(tb.rankBtns.uncertain, "click", () => doAction("uncertain"));
  reg.dom(tb.rankBtns.atypical, "click", () => doAction("atypical"));
  reg.dom(tb.kSlider, "input", () => { tb.kValue.textContent = tb.kSlider.value; });
  reg.dom(tb.kSlider, "change", () => askK(Number(tb.kSlider.value)));
  reg.dom(tb.layoutSel, "change", () => setTrait("ecg_layout", tb.layoutSel.value));
  reg.dom(tb.bandSel, "change", () => setTrait("band_style", tb.bandSel.value));
  reg.dom(tb.gainSel, "change", () => setTrait("gain", Number(tb.gainSel.value)));
  reg.dom(tb.speedSel, "change", () => setSpeed(Number(tb.speedSel.value)));
  reg.dom(tb.scaleSel, "change", () => setTrait("font_scale", Number(tb.scaleSel.value)));
  reg.dom(tb.camBox, "change", () => setTrait("show_gradcam", tb.camBox.checked));
  reg.dom(tb.fitBox, "change", () => setTrait("fit_height", tb.fitBox.checked));
  reg.dom(tb.camSel, "change", () => proto.send({ gradcam_class: tb.camSel.value }));
  reg.dom(tb.calBtn, "click", () => doAction("calipers"));
  reg.dom(tb.presBtn, "click", () => doAction("present"));
  reg.dom(tb.sideBtn, "click", () => { S.sideHidden = !S.sideHidden; syncControls(); draw.drawBase(); });
  reg.dom(tb.helpBtn, "click", () => doAction("help"));
  reg.dom(tb.messageClose, "click", () => {
    S.dismissed = get("message", "");
    tb.message.hidden = true;
  });
  // Delegated clicks: lead buttons and legend items are (re)built by the draw code.
  reg.dom(tb.leadBar, "click", (ev) => {
    const b = ev.target.closest && ev.target.closest("[data-lead]");
    if (!b) return;
    const i = Number(b.dataset.lead);
    const s = new Set(visibleLeads());
    if (s.has(i) && s.size > 1) s.delete(i); else s.add(i);
    setTrait("leads", [...s].sort((a, b2) => a - b2));
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
  reg.model(model, "change:response_id", () => {
    if (!proto.accept()) {
      updateBusy(); // a stale answer: keep showing the previous view until ours arrives
      return;
    }
    const prevRecord = S.cur.rec.index;
    S.cur = snapshot(model);
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
  });
  for (const key of ["busy", "status", "error"]) reg.model(model, `change:${key}`, updateBusy);
  for (const key of ["message", "labels_report"]) reg.model(model, `change:${key}`, syncControls);
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
    get: (key) => model.get(key), send: (key, value) => { model.set(key, value); save(); },
  };
  root.dataset.ready = "1";
  track("render", tRender);

  return () => reg.teardown();
}

export default { render };
