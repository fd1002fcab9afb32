// ClusterExplorer front end (anywidget ESM). Python owns all computation; this file
// draws what the traits hold and turns user actions into trait changes/requests.

import { decodeFloat32, decodeInt16 } from "./decode.js";
import { LAYOUTS, computeLayout } from "./layout.js";
import { attachPointer, panView, zoomView } from "./brush.js";
import {
  drawGradcam, drawPanelBands, drawPanelGradcam, drawRibbon, drawStrip, nextOccurrence, runs,
  selectionSummary,
} from "./bands.js";
import {
  drawAxis, drawCalibration, drawGrid, drawLeadLabel, drawTrace, leadCenter, readTheme,
} from "./ecg_view.js";
import { buildClusterPanel, swatch } from "./prototypes.js";
import { DEFAULT_VOCAB, updateLabels } from "./labels.js";
import { actionFor, buildHelp } from "./keys.js";
import { colorFor, nameFor } from "./palette.js";
import { timeToX } from "./layout.js";

// Draw timings, read by benchmarks/bench_widget.py (kept short: bounded arrays).
const perf = (globalThis.__ecwPerf = globalThis.__ecwPerf || { base: [], overlay: [], summary: [], render: [] });

function h(doc, tag, cls, text) {
  const e = doc.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

function fmtPct(v) {
  return `${(100 * v).toFixed(1)}%`;
}

/** Decode the data traits of the response currently held by the model. */
function snapshot(model) {
  const rec = model.get("record") || {};
  const nL = rec.n_leads || 0;
  const nS = rec.n_samples || 0;
  const sig = decodeFloat32(model.get("signal"));
  const ids = decodeInt16(model.get("seg_ids"));
  const ent = decodeFloat32(model.get("entropy"));
  const cam = decodeFloat32(model.get("gradcam"));
  return {
    rec, nL, nS, fs: rec.fs || 1, sig: sig.length === nL * nS ? sig : new Float32Array(nL * nS),
    ids, segs: runs(ids), ent, cam: cam.length === nS ? cam : null,
    clusters: model.get("clusters") || [],
    protos: decodeFloat32(model.get("prototypes")), protoShape: model.get("proto_shape") || [],
    snips: decodeFloat32(model.get("example_snips")), snipShape: model.get("example_shape") || [],
    responseId: model.get("response_id"),
  };
}

function render({ model, el }) {
  const tRender = performance.now();
  const doc = el.ownerDocument || document;
  const root = h(doc, "div", "ecw-root");
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.setAttribute("aria-label", "ECG cluster explorer (press ? for keyboard help)");
  el.appendChild(root);
  const standalone = !!model.standalone;

  // ---- toolbar --------------------------------------------------------------
  const bar = h(doc, "div", "ecw-toolbar");
  const prevBtn = h(doc, "button", "ecw-btn ecw-prev", "◀");
  prevBtn.title = "previous ECG (←)";
  const idxInput = h(doc, "input", "ecw-index");
  idxInput.type = "number";
  idxInput.min = "0";
  idxInput.setAttribute("aria-label", "ECG index");
  const nextBtn = h(doc, "button", "ecw-btn ecw-next", "▶");
  nextBtn.title = "next ECG (→)";
  const ridInput = h(doc, "input", "ecw-recid");
  ridInput.placeholder = "record id";
  ridInput.setAttribute("aria-label", "record id");
  const classSel = h(doc, "select", "ecw-class");
  classSel.setAttribute("aria-label", "jump to next ECG of class");
  const uncBtn = h(doc, "button", "ecw-btn ecw-uncertain", "most uncertain");
  uncBtn.title = "next most uncertain ECG (u)";
  const atyBtn = h(doc, "button", "ecw-btn ecw-atypical", "least typical");
  atyBtn.title = "next least typical ECG (t)";
  const kLabel = h(doc, "label", "ecw-k-label");
  const kSlider = h(doc, "input", "ecw-k");
  kSlider.type = "range";
  kSlider.step = "1";
  kSlider.setAttribute("aria-label", "number of clusters K");
  const kValue = h(doc, "span", "ecw-k-value");
  kLabel.append("K ", kSlider, kValue);
  const layoutSel = h(doc, "select", "ecw-layout");
  layoutSel.setAttribute("aria-label", "layout");
  for (const l of LAYOUTS) {
    const o = h(doc, "option", null, l === "3x4" ? "3x4+rhythm" : l);
    o.value = l;
    layoutSel.appendChild(o);
  }
  const camLabel = h(doc, "label", "ecw-cam-label");
  const camBox = h(doc, "input", "ecw-cam");
  camBox.type = "checkbox";
  const camSel = h(doc, "select", "ecw-cam-class");
  camSel.setAttribute("aria-label", "Grad-CAM class");
  camLabel.append(camBox, " Grad-CAM ", camSel);
  const helpBtn = h(doc, "button", "ecw-btn ecw-help-btn", "?");
  helpBtn.title = "keyboard help (?)";
  const spinner = h(doc, "span", "ecw-spinner");
  spinner.setAttribute("aria-hidden", "true");
  const status = h(doc, "span", "ecw-status");
  status.setAttribute("role", "status");
  bar.append(prevBtn, idxInput, nextBtn, ridInput, classSel, uncBtn, atyBtn, kLabel, layoutSel,
    camLabel, helpBtn, spinner, status);
  const leadBar = h(doc, "div", "ecw-leadbar");
  const info = h(doc, "div", "ecw-info");
  const stage = h(doc, "div", "ecw-stage");
  const base = h(doc, "canvas", "ecw-canvas");
  const overlay = h(doc, "canvas", "ecw-overlay");
  stage.append(base, overlay);
  const side = h(doc, "div", "ecw-side");
  const summary = h(doc, "div", "ecw-summary");
  summary.setAttribute("aria-live", "polite");
  const clusterBox = h(doc, "div", "ecw-cluster-box");
  side.append(summary, clusterBox);
  const main = h(doc, "div", "ecw-main");
  main.append(stage, side);
  const help = buildHelp(doc);
  root.append(bar, leadBar, info, main, help);

  // ---- state ------------------------------------------------------------------
  let cur = snapshot(model);
  let pendingId = Math.max(model.get("response_id"), (model.get("request") || {}).id || 0);
  let L = null;
  let localSel = null; // selection while dragging, before it is sent
  const vr = model.get("view_range");
  let view = vr && vr.length === 2 ? vr : [0, cur.nS / cur.fs];
  let protoLead = Math.min(1, Math.max(0, cur.nL - 1));
  let theme = readTheme(el);

  const duration = () => (cur.nS || 1) / cur.fs;
  const labels = () => model.get("cluster_labels") || {};

  // Wanted state not yet confirmed by a response: later requests build on it, so a
  // quick "+ + →" asks for K+2 on the next ECG rather than undoing the first press.
  let want = {};
  const wanted = (key) => (key in want ? want[key] : model.get(key === "k" ? "n_clusters" : key));

  function sendRequest(extra) {
    if (standalone) {
      status.textContent = "static export: re-run the notebook to recompute";
      return;
    }
    for (const key of ["k", "index", "gradcam_class"]) if (key in extra) want[key] = extra[key];
    pendingId = Math.max(pendingId, model.get("response_id"), (model.get("request") || {}).id || 0) + 1;
    const req = {
      id: pendingId, k: wanted("k"), index: wanted("index"), gradcam_class: wanted("gradcam_class"),
      ...extra,
    };
    model.set("request", req);
    model.save_changes();
    updateBusy();
  }

  function updateBusy() {
    const busy = pendingId > model.get("response_id") || model.get("busy");
    root.classList.toggle("ecw-busy", !!busy);
    const err = model.get("error");
    status.textContent = err ? `⚠ ${err}` : model.get("status") || "";
    status.classList.toggle("ecw-error", !!err);
  }

  // ---- drawing ---------------------------------------------------------------
  function visibleLeads() {
    const v = model.get("leads") || [];
    return v.length ? v.filter((i) => i < cur.nL) : [...Array(cur.nL).keys()];
  }

  function sizeCanvas(c, w, hgt) {
    const dpr = globalThis.devicePixelRatio || 1;
    const W = Math.round(w * dpr);
    const H = Math.round(hgt * dpr);
    if (c.width !== W || c.height !== H) {
      c.width = W;
      c.height = H;
      c.style.width = `${w}px`;
      c.style.height = `${hgt}px`;
    }
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  function drawBase() {
    const t0 = performance.now();
    theme = readTheme(el);
    const width = Math.max(480, stage.clientWidth || el.clientWidth || 900);
    L = computeLayout({
      layout: model.get("ecg_layout"), leads: visibleLeads(), leadNames: cur.rec.lead_names || [],
      width, duration: duration(), view, gradcam: !!(model.get("show_gradcam") && cur.cam),
      rhythmLead: protoLead,
    });
    view = L.view;
    const ctx = sizeCanvas(base, L.width, L.height);
    sizeCanvas(overlay, L.width, L.height);
    ctx.clearRect(0, 0, L.width, L.height);
    ctx.fillStyle = theme.bg;
    ctx.fillRect(0, 0, L.width, L.height);
    const hl = model.get("highlight_cluster");
    const highlight = hl >= 0 ? hl : null;
    const showCam = model.get("show_gradcam") && cur.cam;
    for (const p of L.panels) {
      drawGrid(ctx, p, L, theme);
      drawPanelBands(ctx, p, cur.segs, cur.fs, { highlight });
      if (showCam) drawPanelGradcam(ctx, p, cur.cam, cur.fs, theme);
      const off = p.lead * cur.nS;
      drawTrace(ctx, p, L, cur.sig, off, cur.nS, cur.fs, theme, leadCenter(cur.sig, off, cur.nS));
      if (p.col === 0) drawCalibration(ctx, p, L, theme);
      drawLeadLabel(ctx, p, theme);
    }
    drawStrip(ctx, L.strip, cur.segs, cur.fs, labels(), highlight);
    drawRibbon(ctx, L.ribbon, cur.ent, cur.fs, theme);
    if (L.gradcam) drawGradcam(ctx, L.gradcam, cur.cam, cur.fs, theme, model.get("gradcam_label"));
    drawAxis(ctx, L.axis, L, theme);
    // The side panel scrolls within the height of the ECG rather than growing the page.
    side.style.maxHeight = `${Math.max(420, L.height)}px`;
    drawOverlay();
    root.dataset.drawnId = String(cur.responseId);
    root.dataset.bands = cur.segs.map((r) => `${r.start}:${r.id}`).join(",").slice(0, 4000);
    root.dataset.k = String(model.get("n_clusters"));
    perf.base.push(performance.now() - t0);
    if (perf.base.length > 500) perf.base.shift();
  }

  function drawOverlay() {
    if (!L) return;
    const t0 = performance.now();
    const ctx = overlay.getContext("2d");
    const dpr = globalThis.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, L.width, L.height);
    const sel = localSel || model.get("selection");
    if (sel && sel.end > sel.start) {
      for (const p of [...L.panels, L.strip, L.ribbon, L.gradcam].filter(Boolean)) {
        const a = Math.max(p.t0, sel.start_s);
        const b = Math.min(p.t1, sel.end_s);
        if (b <= a) continue;
        const x0 = timeToX(p, a);
        const x1 = timeToX(p, b);
        ctx.fillStyle = theme.select;
        ctx.fillRect(x0, p.y, x1 - x0, p.h);
        ctx.strokeStyle = theme.selectEdge;
        ctx.lineWidth = 1;
        ctx.strokeRect(x0 + 0.5, p.y + 0.5, x1 - x0 - 1, p.h - 1);
      }
    }
    perf.overlay.push(performance.now() - t0);
    if (perf.overlay.length > 500) perf.overlay.shift();
  }

  function drawSummary() {
    const t0 = performance.now();
    summary.replaceChildren();
    const sel = localSel || model.get("selection");
    if (!sel || !(sel.end > sel.start)) {
      summary.appendChild(h(doc, "div", "ecw-hint", "Drag across a lead to select a time range; Esc clears. Press ? for help."));
      summary.dataset.state = "empty";
      return;
    }
    const s = selectionSummary(cur.ids, cur.ent, cur.cam, sel.start, sel.end);
    summary.appendChild(h(doc, "div", "ecw-sum-title",
      `${sel.start_s.toFixed(2)}–${sel.end_s.toFixed(2)} s (${s.n} samples)`));
    const list = h(doc, "div", "ecw-sum-list");
    for (const c of s.clusters) {
      const row = h(doc, "div", "ecw-sum-row");
      row.dataset.clusterId = String(c.id);
      const barEl = h(doc, "span", "ecw-sum-bar");
      barEl.style.width = `${Math.max(2, Math.round(80 * c.share))}px`;
      barEl.style.background = colorFor(c.id);
      row.append(swatch(doc, c.id), h(doc, "span", "ecw-sum-name", `C${c.id} ${nameFor(c.id, labels()) === `C${c.id}` ? "" : nameFor(c.id, labels())}`),
        barEl, h(doc, "span", "ecw-sum-val", `${fmtPct(c.share)} · H̄ ${c.mean_entropy.toFixed(2)}`));
      list.appendChild(row);
    }
    summary.appendChild(list);
    summary.appendChild(h(doc, "div", "ecw-sum-line", `mean uncertainty ${s.mean_entropy.toFixed(3)}`));
    if (s.gradcam_share != null) {
      summary.appendChild(h(doc, "div", "ecw-sum-line",
        `Grad-CAM share (${model.get("gradcam_label") || "class"}): ${fmtPct(s.gradcam_share)} of the mass in ${fmtPct(s.n / Math.max(1, cur.nS))} of the time`));
    }
    const pred = cur.rec.prediction;
    if (pred && Object.keys(pred).length) {
      const txt = Object.entries(pred).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(" · ");
      summary.appendChild(h(doc, "div", "ecw-sum-line", `model prediction: ${txt}`));
    }
    summary.dataset.state = "filled";
    perf.summary.push(performance.now() - t0);
  }

  function drawInfo() {
    const r = cur.rec;
    const parts = [`ECG ${r.index} / ${model.get("n_records") - 1}`, `record ${r.record_id}`];
    if (r.true_classes) parts.push(`true: ${r.true_classes.length ? r.true_classes.join(", ") : "—"}`);
    if (r.prediction) {
      const top = Object.entries(r.prediction).sort((a, b) => b[1] - a[1]).slice(0, 3);
      parts.push(`model: ${top.map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(", ")}`);
    }
    if (r.mean_entropy != null) parts.push(`mean uncertainty ${r.mean_entropy.toFixed(3)}`);
    if (r.rank_info) parts.push(r.rank_info);
    info.textContent = parts.join("  ·  ");
  }

  function drawClusters() {
    const panel = buildClusterPanel(doc, {
      clusters: cur.clusters, protos: cur.protos, protoShape: cur.protoShape, snips: cur.snips,
      snipShape: cur.snipShape, lead: protoLead, labels: labels(),
      vocab: model.get("label_vocab") || DEFAULT_VOCAB, highlight: model.get("highlight_cluster"),
      theme, onPick: pickCluster,
      onLabel: (id, name, notes) => {
        model.set("cluster_labels", updateLabels(labels(), id, name, notes));
        model.save_changes();
      },
      onExample: (e) => {
        const span = Math.min(duration(), 2);
        const c = e.start_s;
        view = [Math.max(0, c - span / 2), Math.max(0, c - span / 2) + span];
        sendRequest({ index: e.record_index });
      },
    });
    const leadPick = h(doc, "select", "ecw-proto-lead");
    leadPick.setAttribute("aria-label", "prototype lead");
    (cur.rec.lead_names || []).forEach((n, i) => {
      const o = h(doc, "option", null, `prototype lead ${n}`);
      o.value = String(i);
      leadPick.appendChild(o);
    });
    leadPick.value = String(protoLead);
    leadPick.addEventListener("change", () => { protoLead = Number(leadPick.value); drawClusters(); });
    clusterBox.replaceChildren(leadPick, panel);
  }

  function syncControls() {
    const n = model.get("n_records");
    idxInput.max = String(n - 1);
    idxInput.value = String(model.get("index"));
    ridInput.value = cur.rec.record_id ?? "";
    kSlider.min = String(model.get("k_min"));
    kSlider.max = String(model.get("k_max"));
    kSlider.value = String(model.get("n_clusters"));
    kValue.textContent = String(model.get("n_clusters"));
    layoutSel.value = model.get("ecg_layout");
    camBox.checked = !!model.get("show_gradcam");
    const classes = model.get("class_names") || [];
    if (classSel.options.length !== classes.length + 1) {
      classSel.replaceChildren(h(doc, "option", null, "next of class…"));
      classSel.options[0].value = "";
      camSel.replaceChildren(h(doc, "option", null, "predicted"));
      camSel.options[0].value = "";
      for (const c of classes) {
        const o = h(doc, "option", null, c);
        o.value = c;
        classSel.appendChild(o);
        const o2 = h(doc, "option", null, c);
        o2.value = c;
        camSel.appendChild(o2);
      }
    }
    camSel.value = model.get("gradcam_class") || "";
    const vis = new Set(visibleLeads());
    leadBar.replaceChildren(h(doc, "span", "ecw-leadbar-title", "leads:"));
    (cur.rec.lead_names || []).forEach((name, i) => {
      const b = h(doc, "button", "ecw-lead" + (vis.has(i) ? " ecw-lead-on" : ""), name);
      b.setAttribute("aria-pressed", vis.has(i) ? "true" : "false");
      b.addEventListener("click", () => {
        const s = new Set(visibleLeads());
        if (s.has(i) && s.size > 1) s.delete(i); else s.add(i);
        model.set("leads", [...s].sort((a, b2) => a - b2));
        model.save_changes();
      });
      leadBar.appendChild(b);
    });
  }

  function redrawAll() {
    syncControls();
    drawInfo();
    drawBase();
    drawSummary();
    drawClusters();
    updateBusy();
  }

  // ---- interactions ----------------------------------------------------------------
  function setView(v) {
    view = v;
    drawBase();
  }
  let viewTimer = null;
  function setViewAndSync(v) {
    setView(v);
    // Keep the window in a trait so it survives re-display, without flooding the comm.
    clearTimeout(viewTimer);
    viewTimer = setTimeout(() => { model.set("view_range", view); model.save_changes(); }, 250);
  }

  function setSelection(sel) {
    localSel = null;
    model.set("selection", sel || {});
    model.save_changes();
    drawOverlay();
    drawSummary();
  }

  function pickCluster(id) {
    const cur0 = model.get("highlight_cluster");
    model.set("highlight_cluster", cur0 === id ? -1 : id);
    model.save_changes();
    drawBase();
    drawClusters();
  }

  function gotoOccurrence(dir) {
    const id = model.get("highlight_cluster");
    if (id < 0) return;
    const center = ((view[0] + view[1]) / 2) * cur.fs;
    const r = nextOccurrence(cur.segs, id, dir > 0 ? center + 1 : center - 1, dir);
    if (!r) return;
    const span = Math.min(view[1] - view[0], duration());
    const mid = ((r.start + r.end) / 2) / cur.fs;
    setViewAndSync(panView([mid - span / 2, mid + span / 2], 0, duration()));
    setSelection({ start_s: r.start / cur.fs, end_s: r.end / cur.fs, start: r.start, end: r.end });
  }

  attachPointer(overlay, {
    getLayout: () => L, getView: () => view, fs: () => cur.fs, nSamples: () => cur.nS, duration,
    onBrush: (sel, final) => {
      if (final) setSelection(sel);
      else {
        localSel = sel;
        drawOverlay();
      }
    },
    onView: setViewAndSync,
    onClick: (p, t) => {
      if (p.kind === "strip") {
        const i = Math.floor(t * cur.fs);
        if (i >= 0 && i < cur.ids.length) pickCluster(cur.ids[i]);
      }
    },
  });

  function doAction(a) {
    const n = model.get("n_records");
    const idx = wanted("index");
    const k = wanted("k");
    switch (a) {
      case "help": help.hidden = !help.hidden; break;
      case "k+": if (k < model.get("k_max")) { kValue.textContent = String(k + 1); kSlider.value = String(k + 1); sendRequest({ k: k + 1 }); } break;
      case "k-": if (k > model.get("k_min")) { kValue.textContent = String(k - 1); kSlider.value = String(k - 1); sendRequest({ k: k - 1 }); } break;
      case "prev": if (idx > 0) sendRequest({ index: idx - 1 }); break;
      case "next": if (idx < n - 1) sendRequest({ index: idx + 1 }); break;
      case "uncertain": sendRequest({ rank: "uncertain" }); break;
      case "atypical": sendRequest({ rank: "atypical" }); break;
      case "pan-": setViewAndSync(panView(view, -(view[1] - view[0]) * 0.25, duration())); break;
      case "pan+": setViewAndSync(panView(view, (view[1] - view[0]) * 0.25, duration())); break;
      case "zoom-in": setViewAndSync(zoomView(view, (view[0] + view[1]) / 2, 1.5, duration())); break;
      case "zoom-out": setViewAndSync(zoomView(view, (view[0] + view[1]) / 2, 1 / 1.5, duration())); break;
      case "zoom-reset": setViewAndSync([0, duration()]); break;
      case "occ+": gotoOccurrence(1); break;
      case "occ-": gotoOccurrence(-1); break;
      case "gradcam": model.set("show_gradcam", !model.get("show_gradcam")); model.save_changes(); break;
      case "layout": {
        const i = LAYOUTS.indexOf(model.get("ecg_layout"));
        model.set("ecg_layout", LAYOUTS[(i + 1) % LAYOUTS.length]);
        model.save_changes();
        break;
      }
      case "escape":
        if (!help.hidden) { help.hidden = true; break; }
        setSelection(null);
        if (model.get("highlight_cluster") >= 0) pickCluster(model.get("highlight_cluster"));
        break;
      default:
        if (a.startsWith("cluster")) {
          const j = Number(a.slice(7)) - 1;
          const ids = cur.clusters.map((c) => c.id).sort((x, y) => x - y);
          if (j < ids.length) pickCluster(ids[j]);
        }
    }
  }

  root.addEventListener("keydown", (ev) => {
    const tag = (ev.target && ev.target.tagName) || "";
    if (["INPUT", "TEXTAREA", "SELECT"].includes(tag) && ev.key !== "Escape") return;
    const a = actionFor(ev);
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    doAction(a);
  });
  overlay.addEventListener("pointerdown", () => root.focus({ preventScroll: true }));
  prevBtn.addEventListener("click", () => doAction("prev"));
  nextBtn.addEventListener("click", () => doAction("next"));
  const gotoIndex = () => {
    const v = Math.max(0, Math.min(model.get("n_records") - 1, Math.round(Number(idxInput.value) || 0)));
    if (v !== wanted("index")) sendRequest({ index: v });
  };
  const gotoRecord = () => {
    const r = ridInput.value.trim();
    if (r && r !== cur.rec.record_id) sendRequest({ record_id: r });
  };
  // "change" alone is not fired by Enter in every browser for number inputs.
  idxInput.addEventListener("change", gotoIndex);
  ridInput.addEventListener("change", gotoRecord);
  idxInput.addEventListener("keydown", (ev) => { if (ev.key === "Enter") gotoIndex(); });
  ridInput.addEventListener("keydown", (ev) => { if (ev.key === "Enter") gotoRecord(); });
  classSel.addEventListener("change", () => {
    if (classSel.value) sendRequest({ class: classSel.value });
    classSel.value = "";
  });
  uncBtn.addEventListener("click", () => doAction("uncertain"));
  atyBtn.addEventListener("click", () => doAction("atypical"));
  kSlider.addEventListener("input", () => { kValue.textContent = kSlider.value; });
  kSlider.addEventListener("change", () => {
    sendRequest({ k: Number(kSlider.value) });
  });
  layoutSel.addEventListener("change", () => { model.set("ecg_layout", layoutSel.value); model.save_changes(); });
  camBox.addEventListener("change", () => { model.set("show_gradcam", camBox.checked); model.save_changes(); });
  camSel.addEventListener("change", () => {
    sendRequest({ gradcam_class: camSel.value });
  });
  helpBtn.addEventListener("click", () => doAction("help"));

  // ---- trait listeners ----------------------------------------------------------------
  const onResponse = () => {
    const rid = model.get("response_id");
    if (rid < pendingId) {
      updateBusy(); // a stale answer: keep showing the previous view until ours arrives
      return;
    }
    want = {};
    const prevRecord = cur.rec.index;
    cur = snapshot(model);
    if (cur.rec.index !== prevRecord && !(model.get("view_range") || []).length) view = [0, duration()];
    redrawAll();
  };
  model.on("change:response_id", onResponse);
  const onBusy = () => updateBusy();
  model.on("change:busy", onBusy);
  model.on("change:status", onBusy);
  model.on("change:error", onBusy);
  const onLook = () => { syncControls(); drawBase(); };
  model.on("change:ecg_layout", onLook);
  model.on("change:leads", onLook);
  model.on("change:show_gradcam", onLook);
  const onLabels = () => { drawBase(); drawSummary(); drawClusters(); };
  model.on("change:cluster_labels", onLabels);
  const onSel = () => { drawOverlay(); drawSummary(); };
  model.on("change:selection", onSel);
  const onHl = () => { drawBase(); drawClusters(); };
  model.on("change:highlight_cluster", onHl);
  const onView = () => {
    const v = model.get("view_range");
    if (v && v.length === 2 && (v[0] !== view[0] || v[1] !== view[1])) setView(v);
  };
  model.on("change:view_range", onView);

  let ro = null;
  if (typeof ResizeObserver === "function") {
    let lastW = 0;
    ro = new ResizeObserver(() => {
      const w = stage.clientWidth;
      if (w && Math.abs(w - lastW) > 4) { lastW = w; drawBase(); }
    });
    ro.observe(stage);
  }
  const mq = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
  const onScheme = () => redrawAll();
  mq?.addEventListener?.("change", onScheme);
  // JupyterLab switches themes by swapping CSS variables and these body attributes;
  // canvas colours are read at draw time, so redraw when they change.
  let themeObs = null;
  if (typeof MutationObserver === "function" && doc.body) {
    themeObs = new MutationObserver(() => setTimeout(redrawAll, 50));
    themeObs.observe(doc.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  }

  redrawAll();
  root.dataset.ready = "1";
  perf.render.push(performance.now() - tRender);

  return () => {
    for (const [ev, fn] of [["change:response_id", onResponse], ["change:busy", onBusy],
      ["change:status", onBusy], ["change:error", onBusy], ["change:ecg_layout", onLook],
      ["change:leads", onLook], ["change:show_gradcam", onLook], ["change:cluster_labels", onLabels],
      ["change:selection", onSel], ["change:highlight_cluster", onHl], ["change:view_range", onView]]) {
      model.off(ev, fn);
    }
    ro?.disconnect();
    mq?.removeEventListener?.("change", onScheme);
    themeObs?.disconnect();
    clearTimeout(viewTimer);
  };
}

export default { render };
