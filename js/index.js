// ClusterExplorer front end (anywidget ESM). Python owns all computation; this file
// draws what the traits hold and turns user actions into trait changes/requests.
//
// DOM built here lives as long as the view: controls, legend items and cluster cards
// are updated in place (never rebuilt on a trait change), so typed text, focus and
// scroll positions survive redraws.

import { decodeFloat32, decodeInt16 } from "./decode.js";
import { GAINS, LAYOUTS, SPEEDS, computeLayout, naturalSpan, xToTime } from "./layout.js";
import { attachPointer, caliperReading, panView, zoomView } from "./brush.js";
import {
  BAND_STYLES, drawGradcam, drawPanelBands, drawPanelCap, drawPanelGradcam, drawRibbon, drawStrip,
  occurrences, runs, selectionSummary, stepOccurrence, valueAt,
} from "./bands.js";
import {
  drawAxis, drawCalibration, drawGrid, drawLeadLabel, drawTrace, leadCenter, readTheme,
} from "./ecg_view.js";
import { createClusterPanel, reorder, swatch } from "./prototypes.js";
import { DEFAULT_VOCAB, updateLabels } from "./labels.js";
import { actionFor, buildHelp } from "./keys.js";
import { makePalette } from "./palette.js";
import { timeToX } from "./layout.js";

// Draw timings, read by benchmarks/bench_widget.py (kept short: bounded arrays).
const perf = (globalThis.__ecwPerf = globalThis.__ecwPerf ||
  { base: [], overlay: [], summary: [], render: [], hover: [] });
function track(key, t0) {
  const a = perf[key] || (perf[key] = []);
  a.push(performance.now() - t0);
  if (a.length > 500) a.shift();
}

const DISCONNECTED = "kernel disconnected: re-run the cell to recompute";
const NO_ANSWER = "the kernel does not answer (busy or disconnected): re-run the cell to recompute";
const BAND_LABELS = { light: "bands: light", strong: "bands: strong", lead: "bands: one lead", strip: "bands: strip only" };
const RANK_LABELS = { uncertain: "most uncertain", atypical: "least typical" };

function h(doc, tag, cls, text) {
  const e = doc.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

function fmtPct(v) {
  return `${(100 * v).toFixed(1)}%`;
}

function option(doc, value, text) {
  const o = h(doc, "option", null, text);
  o.value = String(value);
  return o;
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
  const clusters = model.get("clusters") || [];
  return {
    rec, nL, nS, fs: rec.fs || 1, sig: sig.length === nL * nS ? sig : new Float32Array(nL * nS),
    ids, segs: runs(ids), ent, cam: cam.length === nS ? cam : null,
    clusters, clusterIds: rec.cluster_ids || clusters.map((c) => c.id),
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
  const get = (key, fallback) => {
    const v = model.get(key);
    return v === undefined || v === null ? fallback : v;
  };

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
  const rankBtns = {};
  const rankBadges = {};
  for (const key of ["uncertain", "atypical"]) {
    const b = h(doc, "button", `ecw-btn ecw-${key}`);
    const badge = h(doc, "span", "ecw-rank-pos");
    b.append(RANK_LABELS[key], badge);
    b.title = `next ${RANK_LABELS[key]} ECG (${key[0]}; Shift+${key[0]}: previous)`;
    rankBtns[key] = b;
    rankBadges[key] = badge;
  }
  const kLabel = h(doc, "label", "ecw-k-label");
  const kSlider = h(doc, "input", "ecw-k");
  kSlider.type = "range";
  kSlider.step = "1";
  kSlider.setAttribute("aria-label", "number of clusters K");
  const kValue = h(doc, "span", "ecw-k-value");
  kLabel.append("K ", kSlider, kValue);
  const layoutSel = h(doc, "select", "ecw-layout");
  layoutSel.setAttribute("aria-label", "layout");
  for (const l of LAYOUTS) layoutSel.appendChild(option(doc, l, l === "3x4" ? "3x4+rhythm" : l));
  const bandSel = h(doc, "select", "ecw-band-style");
  bandSel.setAttribute("aria-label", "band style");
  bandSel.title = "how clusters are drawn on the leads (b)";
  for (const b of BAND_STYLES) bandSel.appendChild(option(doc, b, BAND_LABELS[b]));
  const gainSel = h(doc, "select", "ecw-gain");
  gainSel.setAttribute("aria-label", "gain");
  for (const g of GAINS) gainSel.appendChild(option(doc, g, `${g} mm/mV`));
  const speedSel = h(doc, "select", "ecw-speed");
  speedSel.setAttribute("aria-label", "paper speed");
  for (const s of SPEEDS) speedSel.appendChild(option(doc, s, `${s} mm/s`));
  const camLabel = h(doc, "label", "ecw-cam-label");
  const camBox = h(doc, "input", "ecw-cam");
  camBox.type = "checkbox";
  const camSel = h(doc, "select", "ecw-cam-class");
  camSel.setAttribute("aria-label", "Grad-CAM class");
  camLabel.append(camBox, " Grad-CAM ", camSel);
  const fitLabel = h(doc, "label", "ecw-fit-label");
  const fitBox = h(doc, "input", "ecw-fit");
  fitBox.type = "checkbox";
  fitLabel.title = "12x1: shrink the rows so the whole ECG fits the window (amplitude scale kept)";
  fitLabel.append(fitBox, " fit");
  const calBtn = h(doc, "button", "ecw-btn ecw-caliper-btn", "calipers");
  calBtn.title = "calipers: drag on a lead to measure ms, bpm and mV (c)";
  calBtn.setAttribute("aria-pressed", "false");
  const presBtn = h(doc, "button", "ecw-btn ecw-present-btn", "present");
  presBtn.title = "presentation mode: full-width ECG, larger text (f)";
  presBtn.setAttribute("aria-pressed", "false");
  const scaleSel = h(doc, "select", "ecw-font-scale");
  scaleSel.setAttribute("aria-label", "text size");
  for (const s of [1, 1.25, 1.5, 2]) scaleSel.appendChild(option(doc, s, `text ×${s}`));
  const sideBtn = h(doc, "button", "ecw-btn ecw-side-toggle", "side panel");
  sideBtn.title = "show / hide the side panel";
  const helpBtn = h(doc, "button", "ecw-btn ecw-help-btn", "?");
  helpBtn.title = "keyboard help (?)";
  const spinner = h(doc, "span", "ecw-spinner");
  spinner.setAttribute("aria-hidden", "true");
  const status = h(doc, "span", "ecw-status");
  status.setAttribute("role", "status");
  bar.append(prevBtn, idxInput, nextBtn, ridInput, classSel, rankBtns.uncertain, rankBtns.atypical,
    kLabel, layoutSel, bandSel, gainSel, speedSel, camLabel, fitLabel, calBtn, presBtn, scaleSel, sideBtn, helpBtn,
    spinner, status);
  const offlineMsg = h(doc, "div", "ecw-offline-msg", `⚠ ${DISCONNECTED}. Brush, zoom, hover and highlighting still work here.`);
  offlineMsg.setAttribute("role", "alert");
  offlineMsg.hidden = true;
  const leadBar = h(doc, "div", "ecw-leadbar");
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
  root.append(bar, offlineMsg, leadBar, info, main, help);

  // ---- state ------------------------------------------------------------------
  let cur = snapshot(model);
  let pendingId = Math.max(model.get("response_id"), (model.get("request") || {}).id || 0);
  let L = null;
  let localSel = null; // selection while dragging, before it is sent
  const vr = model.get("view_range");
  let view = vr && vr.length === 2 ? vr : [0, naturalSpan(cur.nS / cur.fs, get("paper_speed", 25))];
  let protoLead = Math.min(1, Math.max(0, cur.nL - 1));
  let theme = readTheme(el);
  let pal = makePalette(cur.clusterIds, theme.dark);
  let occ = null; // {id, idx, n, rid}: the occurrence n / p step from
  let hover = null; // {p, x, y}
  let caliper = null; // {p, x0, y0, x1, y1}
  let mode = "brush";
  let sideHidden = false;
  let flash = ""; // one-off status message
  let noAnswer = false;
  const rankPos = { uncertain: -1, atypical: -1 }; // the user's own cursor, from #1
  const rankN = { uncertain: 0, atypical: 0 };

  const duration = () => (cur.nS || 1) / cur.fs;
  const labels = () => model.get("cluster_labels") || {};
  const highlight = () => {
    const v = model.get("highlight_cluster");
    return v >= 0 ? v : null;
  };
  const scale = () => {
    const s = Number(get("font_scale", 1)) || 1;
    return get("presentation", false) ? Math.max(1.5, s) : s;
  };

  // A view restored from saved widget state without its kernel has no comm: ipywidgets
  // marks it with this class, and save_changes silently does nothing.
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
  const disconnected = () => !standalone && !!(el.closest && el.closest(".jupyter-widgets-disconnected"));
  const offline = () => standalone || disconnected();

  function save() {
    try {
      model.save_changes();
    } catch (err) {
      // Older managers throw when the comm is gone; the local view keeps working.
      noAnswer = true;
    }
  }

  // Wanted state not yet confirmed by a response: later requests build on it, so a
  // quick "+ + →" asks for K+2 on the next ECG rather than undoing the first press.
  let want = {};
  const wanted = (key) => (key in want ? want[key] : model.get(key === "k" ? "n_clusters" : key));

  let pingTimer = null;
  let lastPong = 0;
  function watchdog() {
    clearTimeout(pingTimer);
    pingTimer = setTimeout(() => {
      if (pendingId <= model.get("response_id")) return;
      const t = Date.now();
      try {
        model.send({ type: "ping", t });
      } catch (err) { /* no comm */ }
      pingTimer = setTimeout(() => {
        if (lastPong < t && pendingId > model.get("response_id")) {
          noAnswer = true;
          updateBusy();
        }
      }, 4000);
    }, 4000);
  }

  function sendRequest(extra) {
    if (offline()) {
      flash = standalone ? "static export: re-run the notebook to recompute" : DISCONNECTED;
      syncControls();
      updateBusy();
      return false;
    }
    for (const key of ["k", "index", "gradcam_class"]) if (key in extra) want[key] = extra[key];
    pendingId = Math.max(pendingId, model.get("response_id"), (model.get("request") || {}).id || 0) + 1;
    const req = {
      id: pendingId, k: wanted("k"), index: wanted("index"), gradcam_class: wanted("gradcam_class"),
      ...extra,
    };
    flash = "";
    model.set("request", req);
    save();
    updateBusy();
    watchdog();
    return true;
  }

  function updateBusy() {
    const off = offline();
    const busy = !off && (pendingId > model.get("response_id") || model.get("busy"));
    root.classList.toggle("ecw-busy", !!busy);
    root.classList.toggle("ecw-offline", off && !standalone);
    offlineMsg.hidden = !(off && !standalone);
    root.dataset.offline = off ? "1" : "0";
    const err = model.get("error");
    let text = model.get("status") || "";
    if (noAnswer && busy) text = NO_ANSWER;
    if (off && !standalone) text = DISCONNECTED;
    if (flash) text = flash;
    if (err && !off) text = `⚠ ${err}`;
    status.textContent = text;
    status.classList.toggle("ecw-error", !!err || (off && !standalone) || (noAnswer && busy));
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
    pal = makePalette(cur.clusterIds, theme.dark);
    const width = Math.max(480, stage.clientWidth || el.clientWidth || 900);
    L = computeLayout({
      layout: model.get("ecg_layout"), leads: visibleLeads(), leadNames: cur.rec.lead_names || [],
      width, duration: duration(), view, gradcam: !!(model.get("show_gradcam") && cur.cam),
      rhythmLead: protoLead, gain: get("gain", 10), speed: get("paper_speed", 25), scale: scale(),
      fitHeight: get("fit_height", false) ? fitTarget() : 0,
    });
    view = L.view;
    const ctx = sizeCanvas(base, L.width, L.height);
    sizeCanvas(overlay, L.width, L.height);
    ctx.clearRect(0, 0, L.width, L.height);
    ctx.fillStyle = theme.bg;
    ctx.fillRect(0, 0, L.width, L.height);
    const hl = highlight();
    const style = get("band_style", "light");
    const showCam = model.get("show_gradcam") && cur.cam;
    const capH = Math.round(6 * L.scale);
    // Paper first for every row, then the traces, so a trace spilling over a fitted row
    // is not painted over by the next row's paper.
    for (const p of L.panels) {
      drawGrid(ctx, p, L, theme);
      drawPanelBands(ctx, p, cur.segs, cur.fs, { pal, style, highlight: hl, chosen: p.lead === protoLead });
      if (showCam) drawPanelGradcam(ctx, p, cur.cam, cur.fs, theme);
    }
    for (const p of L.panels) {
      const off = p.lead * cur.nS;
      drawTrace(ctx, p, L, cur.sig, off, cur.nS, cur.fs, theme, leadCenter(cur.sig, off, cur.nS));
      if (p.col === 0) drawCalibration(ctx, p, L, theme);
      if (style !== "strip") {
        drawPanelCap(ctx, p, cur.segs, cur.fs, { pal, highlight: hl, theme, capH, fontPx: Math.round(9 * L.scale) });
      }
      drawLeadLabel(ctx, p, theme, L.scale, style !== "strip" ? capH : 0);
    }
    drawStrip(ctx, L.strip, cur.segs, cur.fs, labels(), hl, pal, Math.round(10 * L.scale));
    drawRibbon(ctx, L.ribbon, cur.ent, cur.fs, theme, L.margin, L.scale);
    if (L.gradcam) drawGradcam(ctx, L.gradcam, cur.cam, cur.fs, theme, model.get("gradcam_label"), L.margin, L.scale);
    drawAxis(ctx, L.axis, L, theme);
    // The side panel scrolls within the height of the ECG rather than growing the page.
    side.style.maxHeight = `${Math.max(420, L.height + legend.offsetHeight)}px`;
    drawOverlay();
    root.dataset.drawnId = String(cur.responseId);
    root.dataset.bands = cur.segs.map((r) => `${r.start}:${r.id}`).join(",").slice(0, 4000);
    root.dataset.k = String(model.get("n_clusters"));
    root.dataset.bandStyle = style;
    root.dataset.colors = pal.ids.map((id) => pal.color(id)).join(",");
    track("base", t0);
  }

  function drawOverlay() {
    if (!L) return;
    const t0 = performance.now();
    const ctx = overlay.getContext("2d");
    const dpr = globalThis.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, L.width, L.height);
    const tracks = [...L.panels, L.strip, L.ribbon, L.gradcam].filter(Boolean);
    const sel = localSel || model.get("selection");
    if (sel && sel.end > sel.start) {
      for (const p of tracks) {
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
    if (caliper) drawCaliper(ctx, caliper);
    if (hover) drawCrosshair(ctx, tracks);
    track("overlay", t0);
  }

  function traceY(p, i) {
    const off = p.lead * cur.nS;
    const center = leadCenter(cur.sig, off, cur.nS);
    return p.y + p.h / 2 - (cur.sig[off + i] - center) * L.pxPerMv;
  }

  function drawCrosshair(ctx, tracks) {
    const t = hover.t;
    ctx.save();
    ctx.strokeStyle = theme.cross;
    ctx.fillStyle = theme.cross;
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 3]);
    const i = Math.max(0, Math.min(cur.nS - 1, Math.round(t * cur.fs)));
    for (const p of tracks) {
      if (t < p.t0 || t > p.t1) continue;
      const x = Math.round(timeToX(p, t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, p.y);
      ctx.lineTo(x, p.y + p.h);
      ctx.stroke();
      if (p.kind === "lead") {
        const y = traceY(p, i);
        if (y >= p.y && y <= p.y + p.h) {
          ctx.beginPath();
          ctx.arc(x, y, p === hover.p ? 3.5 : 2.5, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
    }
    ctx.setLineDash([]);
    if (hover.p.kind === "lead") {
      ctx.beginPath();
      ctx.moveTo(hover.p.x, Math.round(hover.y) + 0.5);
      ctx.lineTo(hover.p.x + hover.p.w, Math.round(hover.y) + 0.5);
      ctx.globalAlpha = 0.35;
      ctx.stroke();
    }
    ctx.restore();
  }

  function drawCaliper(ctx, c) {
    const r = caliperReading(c.p, c.x0, c.y0, c.x1, c.y1, L.pxPerMv);
    const p = c.p;
    ctx.save();
    ctx.strokeStyle = theme.caliper;
    ctx.fillStyle = theme.caliper;
    ctx.lineWidth = 1.5;
    for (const x of [c.x0, c.x1]) {
      ctx.beginPath();
      ctx.moveTo(Math.round(x) + 0.5, p.y);
      ctx.lineTo(Math.round(x) + 0.5, p.y + p.h);
      ctx.stroke();
    }
    ctx.beginPath();
    ctx.moveTo(c.x0, c.y0);
    ctx.lineTo(c.x1, c.y0);
    ctx.lineTo(c.x1, c.y1);
    ctx.stroke();
    const text = caliperText(r);
    const px = Math.round(11 * L.scale);
    ctx.font = `bold ${px}px sans-serif`;
    ctx.textBaseline = "top";
    const w = ctx.measureText(text).width;
    const x = Math.min(Math.max(c.x0, c.x1) + 4, L.width - w - 6);
    const y = Math.max(p.y + 2, Math.min(c.y0, c.y1) - px - 6);
    ctx.fillStyle = theme.labelBg;
    ctx.fillRect(x - 2, y - 1, w + 4, px + 4);
    ctx.fillStyle = theme.caliper;
    ctx.fillText(text, x, y + 1);
    ctx.restore();
  }

  function caliperText(r) {
    const bpm = r.bpm && r.ms >= 200 ? ` · ${Math.round(r.bpm)} bpm` : "";
    return `${Math.round(r.ms)} ms${bpm} · ${r.mv >= 0 ? "+" : ""}${r.mv.toFixed(2)} mV`;
  }

  function updateTooltip() {
    if (!hover || !L) {
      tip.hidden = true;
      return;
    }
    const t0 = performance.now();
    const t = hover.t;
    const i = Math.max(0, Math.min(cur.nS - 1, Math.round(t * cur.fs)));
    const rows = [[`${t.toFixed(3)} s`, ""]];
    if (hover.p.kind === "lead") {
      const v = cur.sig[hover.p.lead * cur.nS + i];
      rows.push([`${cur.rec.lead_names?.[hover.p.lead] ?? hover.p.lead}`, `${v.toFixed(2)} mV`]);
    }
    const cid = cur.ids[i];
    rows.push(["cluster", pal.title(cid, labels())]);
    const e = valueAt(cur.ent, t, cur.fs);
    if (e != null) rows.push(["uncertainty", e.toFixed(3)]);
    const g = cur.cam ? valueAt(cur.cam, t, cur.fs) : null;
    if (g != null) rows.push([`Grad-CAM ${model.get("gradcam_label") || ""}`.trim(), g.toFixed(3)]);
    tip.replaceChildren();
    const head = h(doc, "div", "ecw-tip-head");
    head.append(swatch(doc, cid, pal), rows[0][0]);
    tip.appendChild(head);
    for (const [k, v] of rows.slice(1)) {
      const r = h(doc, "div", "ecw-tip-row");
      r.append(h(doc, "span", "ecw-tip-key", k), h(doc, "span", "ecw-tip-val", v));
      tip.appendChild(r);
    }
    tip.dataset.t = t.toFixed(3);
    tip.dataset.cluster = String(cid);
    tip.hidden = false;
    const sw = stage.clientWidth || L.width;
    const tw = tip.offsetWidth || 160;
    const th = tip.offsetHeight || 80;
    const x = hover.x + 14 + tw > sw ? hover.x - tw - 14 : hover.x + 14;
    const y = Math.max(0, Math.min(hover.y + 14, L.height - th - 2));
    tip.style.left = `${Math.max(0, x)}px`;
    tip.style.top = `${y}px`;
    track("hover", t0);
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
      barEl.style.background = pal.color(c.id);
      row.append(swatch(doc, c.id, pal), h(doc, "span", "ecw-sum-name", pal.title(c.id, labels())),
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
    track("summary", t0);
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
    infoText.textContent = parts.join("  ·  ");
    for (const key of ["uncertain", "atypical"]) {
      const pos = rankPos[key];
      rankBadges[key].textContent = pos >= 0 && rankN[key] ? ` #${pos + 1} of ${rankN[key]}` : "";
    }
  }

  function drawOcc() {
    const hl = highlight();
    if (!occ || hl == null || occ.id !== hl) {
      occOut.textContent = "";
      delete occOut.dataset.index;
      return;
    }
    occOut.textContent = occ.n ? `${pal.title(occ.id, labels())}: occurrence ${occ.idx + 1} / ${occ.n}`
      : `${pal.title(occ.id, labels())} does not occur in this ECG`;
    occOut.dataset.index = String(occ.idx + 1);
    occOut.dataset.count = String(occ.n);
  }

  // Legend: one button per cluster, updated in place (keyed by stable id).
  const legendItems = new Map();
  function drawLegend() {
    const whole = selectionSummary(cur.ids, cur.ent, null, 0, cur.ids.length);
    const byId = new Map(whole.clusters.map((c) => [c.id, c]));
    const hl = highlight();
    const nodes = [];
    const keep = new Set(pal.ids);
    for (const id of [...legendItems.keys()]) if (!keep.has(id)) legendItems.delete(id);
    for (const id of pal.ids) {
      let it = legendItems.get(id);
      if (!it) {
        const b = h(doc, "button", "ecw-legend-item");
        b.type = "button";
        const sw = swatch(doc, id, pal);
        const name = h(doc, "span", "ecw-legend-name");
        const val = h(doc, "span", "ecw-legend-val");
        b.append(sw, name, val);
        b.addEventListener("click", () => pickCluster(id));
        it = { b, sw, name, val };
        legendItems.set(id, it);
      }
      const c = byId.get(id);
      swatch(doc, id, pal, it.sw);
      it.b.dataset.clusterId = String(id);
      it.b.dataset.num = pal.short(id);
      it.b.setAttribute("aria-pressed", hl === id ? "true" : "false");
      it.b.classList.toggle("ecw-legend-active", hl === id);
      it.b.classList.toggle("ecw-legend-absent", !c);
      it.b.title = `${pal.title(id, labels())}: ${c ? fmtPct(c.share) : "0%"} of this ECG, mean uncertainty ${c ? c.mean_entropy.toFixed(2) : "—"} (click to highlight; stable id ${id})`;
      it.name.textContent = pal.title(id, labels());
      it.val.textContent = c ? `${(100 * c.share).toFixed(0)}% · H̄ ${c.mean_entropy.toFixed(2)}` : "absent";
      nodes.push(it.b);
    }
    reorder(legend, nodes);
  }

  const panel = createClusterPanel(doc, {
    onPick: (id) => pickCluster(id),
    onLabel: (id, name, notes) => {
      model.set("cluster_labels", updateLabels(labels(), id, name, notes));
      save();
      if (offline() && !standalone) {
        flash = "labels are kept in this view only (kernel disconnected)";
        updateBusy();
      }
    },
    onExample: (e) => {
      const span = Math.min(duration(), 2);
      const c = e.start_s;
      const v = [Math.max(0, c - span / 2), Math.max(0, c - span / 2) + span];
      if (sendRequest({ index: e.record_index })) view = v;
    },
  });
  side.append(summary, leadPick, panel.el);

  function drawClusters() {
    panel.update({
      clusters: cur.clusters, protos: cur.protos, protoShape: cur.protoShape, snips: cur.snips,
      snipShape: cur.snipShape, lead: protoLead, labels: labels(),
      vocab: model.get("label_vocab") || DEFAULT_VOCAB, highlight: model.get("highlight_cluster"),
      theme, pal, dataKey: `${cur.responseId}`,
    });
    const names = cur.rec.lead_names || [];
    if (leadPick.options.length !== names.length) {
      leadPick.replaceChildren(...names.map((n, i) => option(doc, i, `prototype lead ${n}`)));
    }
    leadPick.value = String(protoLead);
  }

  const leadBtns = [];
  function syncControls() {
    const n = model.get("n_records");
    idxInput.max = String(n - 1);
    // Fields being typed in keep the typing; after Enter / change they follow the view.
    if (!idxInput.dataset.typing) idxInput.value = String(model.get("index"));
    if (!ridInput.dataset.typing) ridInput.value = cur.rec.record_id ?? "";
    kSlider.min = String(model.get("k_min"));
    kSlider.max = String(model.get("k_max"));
    kSlider.value = String(model.get("n_clusters"));
    kValue.textContent = String(model.get("n_clusters"));
    layoutSel.value = model.get("ecg_layout");
    bandSel.value = get("band_style", "light");
    gainSel.value = String(get("gain", 10));
    speedSel.value = String(get("paper_speed", 25));
    scaleSel.value = String(get("font_scale", 1));
    camBox.checked = !!model.get("show_gradcam");
    fitBox.checked = !!get("fit_height", false);
    const present = !!get("presentation", false);
    presBtn.setAttribute("aria-pressed", present ? "true" : "false");
    root.classList.toggle("ecw-present", present);
    root.classList.toggle("ecw-side-hidden", sideHidden || present);
    root.style.setProperty("--ecw-scale", String(scale()));
    calBtn.setAttribute("aria-pressed", mode === "caliper" ? "true" : "false");
    root.classList.toggle("ecw-caliper-mode", mode === "caliper");
    const classes = model.get("class_names") || [];
    if (classSel.options.length !== classes.length + 1) {
      classSel.replaceChildren(option(doc, "", "next of class…"), ...classes.map((c) => option(doc, c, c)));
      camSel.replaceChildren(option(doc, "", "predicted"), ...classes.map((c) => option(doc, c, c)));
    }
    camSel.value = model.get("gradcam_class") || "";
    const vis = new Set(visibleLeads());
    const names = cur.rec.lead_names || [];
    if (leadBtns.length !== names.length || leadBtns.some((b, i) => b.textContent !== names[i])) {
      leadBtns.length = 0;
      leadBar.replaceChildren(h(doc, "span", "ecw-leadbar-title", "leads:"));
      names.forEach((name, i) => {
        const b = h(doc, "button", "ecw-lead", name);
        b.addEventListener("click", () => {
          const s = new Set(visibleLeads());
          if (s.has(i) && s.size > 1) s.delete(i); else s.add(i);
          model.set("leads", [...s].sort((a, b2) => a - b2));
          save();
        });
        leadBtns.push(b);
        leadBar.appendChild(b);
      });
    }
    leadBtns.forEach((b, i) => {
      b.classList.toggle("ecw-lead-on", vis.has(i));
      b.setAttribute("aria-pressed", vis.has(i) ? "true" : "false");
    });
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
      drawInfo();
      drawLegend();
      drawBase();
      drawSummary();
      drawClusters();
      drawOcc();
      updateBusy();
    });
  }

  // ---- interactions ----------------------------------------------------------------
  function setView(v) {
    view = v;
    drawBase();
    if (hover) updateTooltip();
  }
  let viewTimer = null;
  function setViewAndSync(v) {
    setView(v);
    // Keep the window in a trait so it survives re-display, without flooding the comm.
    clearTimeout(viewTimer);
    viewTimer = setTimeout(() => { model.set("view_range", view); save(); }, 250);
  }

  function setSelection(sel) {
    localSel = null;
    model.set("selection", sel || {});
    save();
    drawOverlay();
    drawSummary();
  }

  function pickCluster(id) {
    const cur0 = model.get("highlight_cluster");
    model.set("highlight_cluster", cur0 === id ? -1 : id);
    save();
    occ = null;
    keepFocus(() => {
      drawBase();
      drawLegend();
      drawClusters();
      drawOcc();
    });
  }

  function gotoOccurrence(dir) {
    const id = highlight();
    if (id == null) {
      flash = "highlight a cluster first (keys 1–9, the legend or a card), then n / p";
      updateBusy();
      return;
    }
    flash = "";
    const list = occurrences(cur.segs, id);
    const prev = occ && occ.id === id && occ.rid === cur.responseId ? occ.idx : -1;
    const i = stepOccurrence(list, prev, dir, view[0] * cur.fs, view[1] * cur.fs);
    occ = { id, idx: i, n: list.length, rid: cur.responseId };
    drawOcc();
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
    setViewAndSync(panView([view[0], view[0] + span], 0, duration()));
  }

  attachPointer(overlay, {
    getLayout: () => L, getView: () => view, fs: () => cur.fs, nSamples: () => cur.nS, duration,
    mode: () => mode,
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
      } else if (mode === "caliper" && caliper) {
        caliper = null;
        calOut.textContent = "";
        drawOverlay();
      }
    },
    onHover: (p, x, y) => {
      hover = { p, x, y, t: Math.max(p.t0, Math.min(p.t1, xToTime(p, x))) };
      drawOverlay();
      updateTooltip();
    },
    onLeave: () => {
      if (!hover) return;
      hover = null;
      drawOverlay();
      updateTooltip();
    },
    onCaliper: (c, final) => {
      caliper = c;
      const r = caliperReading(c.p, c.x0, c.y0, c.x1, c.y1, L.pxPerMv);
      calOut.textContent = `calipers: ${caliperText(r)}`;
      calOut.dataset.ms = r.ms.toFixed(1);
      calOut.dataset.mv = r.mv.toFixed(3);
      drawOverlay();
      if (final) root.dataset.caliper = `${r.ms.toFixed(1)},${r.mv.toFixed(3)}`;
    },
  });

  function rankStep(key, dir) {
    const n = rankN[key] || 0;
    let pos = rankPos[key] + dir;
    if (pos < 0) pos = n ? n - 1 : 0;
    sendRequest({ rank: key, rank_pos: pos, rank_source: "ui" });
  }

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
      case "uncertain": rankStep("uncertain", 1); break;
      case "atypical": rankStep("atypical", 1); break;
      case "uncertain-prev": rankStep("uncertain", -1); break;
      case "atypical-prev": rankStep("atypical", -1); break;
      case "pan-": setViewAndSync(panView(view, -(view[1] - view[0]) * 0.25, duration())); break;
      case "pan+": setViewAndSync(panView(view, (view[1] - view[0]) * 0.25, duration())); break;
      case "zoom-in": setViewAndSync(zoomView(view, (view[0] + view[1]) / 2, 1.5, duration())); break;
      case "zoom-out": setViewAndSync(zoomView(view, (view[0] + view[1]) / 2, 1 / 1.5, duration())); break;
      case "zoom-reset": setViewAndSync([0, naturalSpan(duration(), get("paper_speed", 25))]); break;
      case "occ+": gotoOccurrence(1); break;
      case "occ-": gotoOccurrence(-1); break;
      case "gradcam": setTrait("show_gradcam", !model.get("show_gradcam")); break;
      case "bands": {
        const i = BAND_STYLES.indexOf(get("band_style", "light"));
        setTrait("band_style", BAND_STYLES[(i + 1) % BAND_STYLES.length]);
        break;
      }
      case "calipers":
        mode = mode === "caliper" ? "brush" : "caliper";
        if (mode === "brush") { caliper = null; calOut.textContent = ""; }
        syncControls();
        drawOverlay();
        break;
      case "present": setTrait("presentation", !get("presentation", false)); break;
      case "layout": {
        const i = LAYOUTS.indexOf(model.get("ecg_layout"));
        setTrait("ecg_layout", LAYOUTS[(i + 1) % LAYOUTS.length]);
        break;
      }
      case "escape":
        if (!help.hidden) { help.hidden = true; break; }
        if (caliper) { caliper = null; calOut.textContent = ""; drawOverlay(); break; }
        setSelection(null);
        if (model.get("highlight_cluster") >= 0) pickCluster(model.get("highlight_cluster"));
        break;
      default:
        if (a.startsWith("cluster")) {
          const j = Number(a.slice(7)) - 1;
          if (j < pal.ids.length) pickCluster(pal.ids[j]);
        }
    }
  }

  root.addEventListener("keydown", (ev) => {
    const tag = (ev.target && ev.target.tagName) || "";
    if (["INPUT", "TEXTAREA", "SELECT"].includes(tag) && ev.key !== "Escape") return;
    if (tag === "BUTTON" && (ev.key === "Enter" || ev.key === " ")) return;
    const a = actionFor(ev);
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    doAction(a);
  });
  overlay.addEventListener("pointerdown", () => root.focus({ preventScroll: true }));
  prevBtn.addEventListener("click", () => doAction("prev"));
  nextBtn.addEventListener("click", () => doAction("next"));
  for (const f of [idxInput, ridInput]) {
    f.addEventListener("input", () => { f.dataset.typing = "1"; });
    f.addEventListener("blur", () => { delete f.dataset.typing; });
  }
  const gotoIndex = () => {
    delete idxInput.dataset.typing;
    const v = Math.max(0, Math.min(model.get("n_records") - 1, Math.round(Number(idxInput.value) || 0)));
    if (v !== wanted("index")) sendRequest({ index: v });
  };
  const gotoRecord = () => {
    delete ridInput.dataset.typing;
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
  rankBtns.uncertain.addEventListener("click", () => doAction("uncertain"));
  rankBtns.atypical.addEventListener("click", () => doAction("atypical"));
  kSlider.addEventListener("input", () => { kValue.textContent = kSlider.value; });
  kSlider.addEventListener("change", () => {
    sendRequest({ k: Number(kSlider.value) });
  });
  layoutSel.addEventListener("change", () => setTrait("ecg_layout", layoutSel.value));
  bandSel.addEventListener("change", () => setTrait("band_style", bandSel.value));
  gainSel.addEventListener("change", () => setTrait("gain", Number(gainSel.value)));
  speedSel.addEventListener("change", () => setSpeed(Number(speedSel.value)));
  scaleSel.addEventListener("change", () => setTrait("font_scale", Number(scaleSel.value)));
  camBox.addEventListener("change", () => setTrait("show_gradcam", camBox.checked));
  fitBox.addEventListener("change", () => setTrait("fit_height", fitBox.checked));
  camSel.addEventListener("change", () => {
    sendRequest({ gradcam_class: camSel.value });
  });
  calBtn.addEventListener("click", () => doAction("calipers"));
  presBtn.addEventListener("click", () => doAction("present"));
  sideBtn.addEventListener("click", () => { sideHidden = !sideHidden; syncControls(); drawBase(); });
  helpBtn.addEventListener("click", () => doAction("help"));
  leadPick.addEventListener("change", () => {
    protoLead = Number(leadPick.value);
    drawClusters();
    if (get("band_style", "light") === "lead" || model.get("ecg_layout") === "3x4") drawBase();
  });

  // ---- trait listeners ----------------------------------------------------------------
  const onResponse = () => {
    const rid = model.get("response_id");
    noAnswer = false;
    if (rid < pendingId) {
      updateBusy(); // a stale answer: keep showing the previous view until ours arrives
      return;
    }
    want = {};
    const prevRecord = cur.rec.index;
    cur = snapshot(model);
    const rk = cur.rec.rank;
    if (rk && rk.source === "ui" && rk.key in rankPos) {
      rankPos[rk.key] = rk.pos;
      rankN[rk.key] = rk.n;
    }
    if (cur.rec.index !== prevRecord) {
      // Another ECG: the old brush, occurrence, calipers and hover do not apply to it.
      localSel = null;
      occ = null;
      caliper = null;
      calOut.textContent = "";
      hover = null;
      tip.hidden = true;
      if (!(model.get("view_range") || []).length) view = [0, naturalSpan(duration(), get("paper_speed", 25))];
    }
    redrawAll();
  };
  model.on("change:response_id", onResponse);
  const onBusy = () => updateBusy();
  model.on("change:busy", onBusy);
  model.on("change:status", onBusy);
  model.on("change:error", onBusy);
  const onLook = () => keepFocus(() => { syncControls(); drawBase(); });
  const lookKeys = ["ecg_layout", "leads", "show_gradcam", "band_style", "gain", "paper_speed",
    "font_scale", "presentation", "fit_height"];
  for (const key of lookKeys) model.on(`change:${key}`, onLook);
  const onLabels = () => keepFocus(() => { drawBase(); drawLegend(); drawSummary(); drawClusters(); drawOcc(); });
  model.on("change:cluster_labels", onLabels);
  const onSel = () => { drawOverlay(); drawSummary(); };
  model.on("change:selection", onSel);
  const onHl = () => keepFocus(() => { drawBase(); drawLegend(); drawClusters(); drawOcc(); });
  model.on("change:highlight_cluster", onHl);
  const onView = () => {
    const v = model.get("view_range");
    if (v && v.length === 2 && (v[0] !== view[0] || v[1] !== view[1])) setView(v);
  };
  model.on("change:view_range", onView);
  const onMsg = (msg) => {
    if (msg && msg.type === "pong") {
      lastPong = Date.now();
      noAnswer = false;
      updateBusy();
    }
  };
  model.on("msg:custom", onMsg);

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
  // ipywidgets toggles "jupyter-widgets-disconnected" on the view when the comm dies or
  // comes back; watch the view and its ancestors.
  let connObs = null;
  if (typeof MutationObserver === "function") {
    connObs = new MutationObserver(() => updateBusy());
    for (let n = el; n && n !== doc.body; n = n.parentElement) {
      connObs.observe(n, { attributes: true, attributeFilter: ["class"] });
    }
  }

  redrawAll();
  // The view may be attached to the page (and marked disconnected) after render returns,
  // so the ancestors above cannot all be watched yet: also check now and then.
  let wasOffline = offline();
  const connTimer = setInterval(() => {
    if (offline() !== wasOffline) {
      wasOffline = offline();
      updateBusy();
    }
  }, 1000);
  setTimeout(updateBusy, 0);
  // Read-only hooks for tests and benchmarks (geometry of the current drawing).
  root.__ecw = { layout: () => L, view: () => view.slice(), palette: () => pal };
  root.dataset.ready = "1";
  track("render", tRender);

  return () => {
    for (const [ev, fn] of [["change:response_id", onResponse], ["change:busy", onBusy],
      ["change:status", onBusy], ["change:error", onBusy], ["change:cluster_labels", onLabels],
      ["change:selection", onSel], ["change:highlight_cluster", onHl], ["change:view_range", onView],
      ["msg:custom", onMsg], ...lookKeys.map((k) => [`change:${k}`, onLook])]) {
      model.off(ev, fn);
    }
    for (const c of panel.cards.values()) c.editor.flush();
    ro?.disconnect();
    mq?.removeEventListener?.("change", onScheme);
    themeObs?.disconnect();
    connObs?.disconnect();
    clearTimeout(viewTimer);
    clearTimeout(pingTimer);
    clearInterval(connTimer);
  };
}

export default { render };
