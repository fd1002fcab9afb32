// Per-cluster panel: share of time, mean uncertainty + histogram, prototype waveform
// (median and interquartile band) for the chosen lead, nearest real examples, class mix.

import { hatchPattern } from "./palette.js";
import { textColorOn, withAlpha } from "./color.js";
import { buildLabelEditor } from "./labels.js";

function smallCanvas(doc, w, h, cls) {
  const c = doc.createElement("canvas");
  const dpr = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
  c.width = Math.round(w * dpr);
  c.height = Math.round(h * dpr);
  c.style.width = `${w}px`;
  c.style.height = `${h}px`;
  c.className = cls;
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return [c, ctx];
}

/** Swatch: colour + hatch, the same two cues as the bands (redrawn in place when given). */
export function swatch(doc, id, pal, canvas) {
  let c = canvas;
  let ctx;
  const col = pal.color(id);
  const look = `${col}|${pal.hatch(id)}`;
  // Redrawn only when its colour or hatch changed: every answer refreshes every swatch.
  if (c && c.dataset.look === look) return c;
  if (!c) [c, ctx] = smallCanvas(doc, 16, 16, "ecw-swatch");
  else ctx = c.getContext("2d");
  ctx.clearRect(0, 0, 16, 16);
  ctx.fillStyle = col;
  ctx.fillRect(0, 0, 16, 16);
  const pat = hatchPattern(ctx, pal.hatch(id), withAlpha(textColorOn(col), 0.6));
  if (pat) {
    ctx.fillStyle = pat;
    ctx.fillRect(0, 0, 16, 16);
  }
  c.dataset.color = col;
  c.dataset.look = look;
  return c;
}

/** A canvas kept by a card: cleared and redrawn in place rather than made anew. */
function keptCanvas(doc, kept, w, h, cls) {
  if (kept) {
    const ctx = kept.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    return [kept, ctx];
  }
  return smallCanvas(doc, w, h, cls);
}

/** Whether two lists of arrays hold the same numbers (null matches only null). */
function sameArrays(a, b) {
  if (!a || a.length !== b.length) return false;
  for (let j = 0; j < a.length; j++) {
    const x = a[j];
    const y = b[j];
    if (x === y) continue;
    if (!x || !y || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

function drawHist(ctx, w, h, hist, color, theme) {
  ctx.fillStyle = theme.track;
  ctx.fillRect(0, 0, w, h);
  const max = Math.max(1e-9, ...hist);
  const bw = w / hist.length;
  ctx.fillStyle = color;
  hist.forEach((v, i) => {
    const bh = (v / max) * (h - 2);
    ctx.fillRect(i * bw + 0.5, h - bh, Math.max(1, bw - 1), bh);
  });
}

function drawProto(ctx, w, h, med, q25, q75, color, theme) {
  ctx.fillStyle = theme.paper;
  ctx.fillRect(0, 0, w, h);
  const n = med.length;
  if (!n) return;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, q25[i], med[i]);
    hi = Math.max(hi, q75[i], med[i]);
  }
  if (!(hi > lo)) { hi = lo + 1; }
  const pad = 0.1 * (hi - lo);
  const x = (i) => (i / Math.max(1, n - 1)) * (w - 2) + 1;
  const y = (v) => h - 2 - ((v - lo + pad) / (hi - lo + 2 * pad)) * (h - 4);
  ctx.beginPath();
  for (let i = 0; i < n; i++) ctx.lineTo(x(i), y(q75[i]));
  for (let i = n - 1; i >= 0; i--) ctx.lineTo(x(i), y(q25[i]));
  ctx.closePath();
  ctx.fillStyle = withAlpha(color, 0.3);
  ctx.fill();
  ctx.beginPath();
  for (let i = 0; i < n; i++) ctx.lineTo(x(i), y(med[i]));
  ctx.strokeStyle = theme.trace;
  ctx.lineWidth = 1.3;
  ctx.stroke();
}

function drawSnip(ctx, w, h, snip, color, theme) {
  ctx.fillStyle = theme.paper;
  ctx.fillRect(0, 0, w, h);
  ctx.strokeStyle = color;
  ctx.lineWidth = 3;
  ctx.strokeRect(0, 0, w, h);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of snip) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!(hi > lo)) hi = lo + 1;
  ctx.beginPath();
  snip.forEach((v, i) => {
    ctx.lineTo((i / Math.max(1, snip.length - 1)) * (w - 4) + 2, h - 3 - ((v - lo) / (hi - lo)) * (h - 6));
  });
  ctx.strokeStyle = theme.trace;
  ctx.lineWidth = 1;
  ctx.stroke();
}

/**
 * Keep `parent`'s children in the order of `nodes` while moving as few as possible:
 * a moved node loses focus, so nodes already in place are left alone.
 */
export function reorder(parent, nodes) {
  let ref = parent.firstChild;
  for (const n of nodes) {
    if (n === ref) {
      ref = ref.nextSibling;
      continue;
    }
    parent.insertBefore(n, ref);
  }
  while (ref) {
    const next = ref.nextSibling;
    parent.removeChild(ref);
    ref = next;
  }
}

/**
 * The cluster cards, updated in place: a card (and its label editor) lives as long as
 * its cluster id is shown, so typing, focus and scroll survive redraws, K changes that
 * keep the cluster, and label round trips through the kernel.
 *
 * handlers: {onPick(id), onLabel(id, name, notes), onExample(ex), onDone(id)}.
 * update(d): d = {clusters, protos (Float32Array), protoShape [K,3,L,W], snips,
 *                 snipShape [K,E,L,W], lead, labels, vocab, highlight, theme, pal}
 */
export function createClusterPanel(doc, handlers) {
  const root = doc.createElement("div");
  root.className = "ecw-clusters";
  const cards = new Map();

  function makeCard(id, d) {
    const card = doc.createElement("div");
    card.className = "ecw-card";
    card.dataset.clusterId = String(id);
    card.tabIndex = 0;
    card.setAttribute("role", "button");
    const head = doc.createElement("div");
    head.className = "ecw-card-head";
    const sw = swatch(doc, id, d.pal);
    const title = doc.createElement("span");
    title.className = "ecw-card-title";
    const stats = doc.createElement("span");
    stats.className = "ecw-card-stats";
    const badge = doc.createElement("span");
    const tree = doc.createElement("span");
    tree.className = "ecw-card-tree";
    head.append(sw, title, tree, stats, badge);
    const row = doc.createElement("div");
    row.className = "ecw-card-row";
    const ex = doc.createElement("div");
    ex.className = "ecw-examples";
    const mix = doc.createElement("div");
    mix.className = "ecw-mix";
    const editor = buildLabelEditor(doc, id, d.labels, d.vocab, handlers.onLabel, {
      onDone: () => card.focus({ preventScroll: true }),
    });
    card.append(head, row, ex, mix, editor.el);
    card.addEventListener("click", () => handlers.onPick(id));
    card.addEventListener("keydown", (ev) => {
      if (ev.target === card && (ev.key === "Enter" || ev.key === " ")) {
        ev.preventDefault();
        ev.stopPropagation();
        handlers.onPick(id);
      } else if (ev.target === card && ev.key === "a" && editor.accept()) {
        // "a" on a focused card accepts its proposed name
        ev.preventDefault();
        ev.stopPropagation();
      }
    });
    return {
      card, sw, title, tree, stats, badge, row, ex, mix, editor,
      look: "", data: null, pc: null, hc: null, exCanvases: [], examples: [],
    };
  }

  function fill(c, info, d) {
    const id = info.id;
    const active = d.highlight === id;
    c.card.classList.toggle("ecw-card-active", active);
    c.card.setAttribute("aria-pressed", active ? "true" : "false");
    c.card.style.borderColor = d.pal.color(id);
    c.card.dataset.num = d.pal.short(id);
    const chain = (info.ancestors || []).map((a) => d.pal.short(a)).join(" ← ");
    c.card.title = `cluster ${d.pal.short(id)} (stable id ${id})` + (chain ? `; in the cluster tree at K-1, K-2, …: ${chain}` : "");
    swatch(doc, id, d.pal, c.sw);
    const anc = info.ancestors || [];
    const shown = d.pal.titleOrProposal(id, d.labels, info.proposed_name, anc);
    c.title.textContent = shown.text;
    c.title.classList.toggle("ecw-proposed", shown.proposed);
    c.title.classList.toggle("ecw-inherited", !!shown.inherited);
    // The cluster tree: a cluster that split off at this K names the cluster it came from.
    const from = anc.length && anc[0] !== id ? anc[0] : null;
    c.tree.textContent = from == null ? "" : `from ${d.pal.short(from)}`;
    c.tree.hidden = from == null;
    c.card.dataset.parent = anc.length ? String(anc[0]) : "";
    c.card.dataset.proposed = shown.proposed ? info.proposed_name : "";
    c.editor.propose(info.proposed_name || "");
    c.stats.textContent = `${(100 * info.share).toFixed(1)}% of time · H̄ ${info.mean_entropy.toFixed(2)}`;
    // Confident or unsure relative to this dataset (explain/browse.py uncertainty_scale):
    // on normal ECGs every absolute entropy is near 0, the percentile tells them apart.
    const conf = info.confidence || "";
    c.badge.textContent = conf ? `${conf} (p${Math.round(100 * info.mean_pct)})` : "";
    c.badge.hidden = !conf;
    c.badge.className = `ecw-conf ecw-conf-${conf}`;
    c.badge.title = conf
      ? `its time steps are on average at the ${Math.round(100 * info.mean_pct)}th percentile of uncertainty in this dataset`
      : "";
    c.card.dataset.confidence = conf;
    c.editor.set(d.labels && d.labels[String(id)], d.pal.short(id));
    // Canvases are redrawn only when what they show changed: the numbers themselves are
    // compared, so a cluster that keeps its members across a K change or another ECG
    // keeps its drawings (no canvas is made or painted again).
    const [K, , L, W] = d.protoShape && d.protoShape.length === 4 ? d.protoShape : [0, 3, 0, 0];
    const [, E, SL, SW] = d.snipShape && d.snipShape.length === 4 ? d.snipShape : [0, 0, 0, 0];
    const pos = info.position;
    const col = d.pal.color(id);
    const li = Math.min(d.lead, L - 1);
    const base = (k, q) => ((k * 3 + q) * L + li) * W;
    const proto = K && pos < K && L && W
      ? [0, 1, 2].map((q) => d.protos.subarray(base(pos, q), base(pos, q) + W))
      : null;
    const rel = info.pct_hist && info.pct_hist.length;
    const hist = rel ? info.pct_hist : info.entropy_hist;
    const exs = E && SW && pos < K ? (info.examples || []).slice(0, E) : [];
    const snips = exs.map((e, j) => {
      const off = ((pos * E + j) * SL + Math.min(d.lead, SL - 1)) * SW;
      return d.snips.subarray(off, off + SW);
    });
    const look = `${d.theme.dark}|${col}|${rel ? "pct" : "abs"}|` +
      JSON.stringify(exs.map((e) => [e.record_id, e.start_s])) + JSON.stringify(info.class_mix || {});
    const data = [...(proto || [null, null, null]), hist && hist.length ? hist : null, ...snips];
    c.examples = exs;
    if (look === c.look && sameArrays(c.data, data)) return;
    c.look = look;
    c.data = data.map((a) => (a ? Array.from(a) : null));
    if (proto) {
      const [pc, pctx] = keptCanvas(doc, c.pc, 140, 60, "ecw-proto");
      pc.title = "prototype: median and 25–75 % band";
      drawProto(pctx, 140, 60, proto[0], proto[1], proto[2], col, d.theme);
      c.pc = pc;
    }
    if (hist && hist.length) {
      const [hc, hctx] = keptCanvas(doc, c.hc, 70, 60, "ecw-hist");
      hc.title = rel
        ? "its time steps by uncertainty percentile in this dataset (left: more certain than usual, right: less)"
        : "histogram of uncertainty (0 … 1)";
      drawHist(hctx, 70, 60, hist, col, d.theme);
      c.hc = hc;
    }
    const row = [proto && c.pc, hist && hist.length && c.hc].filter(Boolean);
    if (row.length !== c.row.childNodes.length || row.some((n, i) => c.row.childNodes[i] !== n)) {
      c.row.replaceChildren(...row);
    }
    const exCanvases = exs.map((e, j) => {
      const [sc, sctx] = keptCanvas(doc, c.exCanvases[j], 60, 34, "ecw-example");
      if (!c.exCanvases[j]) {
        // One listener per canvas, reading the example it shows now.
        sc.addEventListener("click", (ev) => {
          ev.stopPropagation();
          if (c.examples[j]) handlers.onExample(c.examples[j]);
        });
        c.exCanvases[j] = sc;
      }
      drawSnip(sctx, 60, 34, snips[j], col, d.theme);
      sc.title = `record ${e.record_id} at ${e.start_s.toFixed(2)} s (click to open)`;
      return sc;
    });
    if (exCanvases.length !== c.ex.childNodes.length || exCanvases.some((n, i) => c.ex.childNodes[i] !== n)) {
      c.ex.replaceChildren(...exCanvases);
    }
    c.mix.replaceChildren();
    if (info.class_mix && Object.keys(info.class_mix).length) {
      for (const [name, v] of Object.entries(info.class_mix)) {
        const item = doc.createElement("span");
        item.className = "ecw-mix-item";
        const bar = doc.createElement("span");
        bar.className = "ecw-mix-bar";
        bar.style.width = `${Math.round(40 * v)}px`;
        bar.style.background = col;
        item.append(`${name} ${(100 * v).toFixed(0)}%`, bar);
        c.mix.appendChild(item);
      }
    }
  }

  function update(d) {
    const sorted = [...d.clusters].sort((a, b) => a.id - b.id);
    const keep = new Set(sorted.map((c) => c.id));
    for (const [id, c] of cards) {
      if (!keep.has(id)) {
        c.editor.flush(); // a card about to go away still saves what was typed
        cards.delete(id);
      }
    }
    const nodes = [];
    for (const info of sorted) {
      let c = cards.get(info.id);
      if (!c) {
        c = makeCard(info.id, d);
        cards.set(info.id, c);
      }
      fill(c, info, d);
      nodes.push(c.card);
    }
    reorder(root, nodes);
  }

  return { el: root, update, cards };
}
