// The text panels around the ECG: info line, legend, selection summary, occurrence
// readout and the cluster cards. Like draw.js, these only draw from the shared state.

import { selectionSummary } from "./bands.js";
import { createClusterPanel, reorder, swatch } from "./prototypes.js";
import { DEFAULT_VOCAB } from "./labels.js";
import { fmtPct, h, option } from "./dom.js";
import { track } from "./draw.js";

/**
 * @param {Record<string, any>} env  the view environment (index.js)
 * @param {{onPick: Function, onLabel: Function, onExample: Function}} handlers
 */
export function createPanels(env, handlers) {
  const { model, S } = env;
  const { summary, infoText, occOut, fitOut, legend, leadPick, rankBadges } = env.dom;
  const doc = summary.ownerDocument;
  const panel = createClusterPanel(doc, handlers);
  // Above the cards: which clusters are confident and which unsure, relative to the
  // uncertainty of the whole dataset.
  const conf = h(doc, "div", "ecw-conf-summary");
  conf.setAttribute("aria-live", "polite");

  function drawSummary() {
    const t0 = performance.now();
    const cur = S.cur;
    summary.replaceChildren();
    const sel = S.localSel || model.get("selection");
    if (!sel || !(sel.end > sel.start)) {
      summary.appendChild(h(doc, "div", "ecw-hint", "Drag across a lead to select a time range; Esc clears. Press ? for help."));
      summary.dataset.state = "empty";
      return;
    }
    // Drawn from the browser's own summary (js/bands.js): it follows the brush while it
    // is dragged and works without a kernel; w.selection_summary (explain/context.py) is
    // the same computation for the notebook.
    const s = selectionSummary(cur.ids, cur.ent, cur.cam, sel.start, sel.end);
    summary.appendChild(h(doc, "div", "ecw-sum-title",
      `${sel.start_s.toFixed(2)}–${sel.end_s.toFixed(2)} s (${s.n} samples)`));
    const list = h(doc, "div", "ecw-sum-list");
    for (const c of s.clusters) {
      const row = h(doc, "div", "ecw-sum-row");
      row.dataset.clusterId = String(c.id);
      const barEl = h(doc, "span", "ecw-sum-bar");
      barEl.style.width = `${Math.max(2, Math.round(80 * c.share))}px`;
      barEl.style.background = S.pal.color(c.id);
      row.append(swatch(doc, c.id, S.pal), h(doc, "span", "ecw-sum-name", S.pal.title(c.id, env.labels())),
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
    const r = S.cur.rec;
    const parts = [`ECG ${r.index} / ${model.get("n_records") - 1}`, `record ${r.record_id}`];
    if (r.true_classes) parts.push(`true: ${r.true_classes.length ? r.true_classes.join(", ") : "—"}`);
    if (r.prediction) {
      const top = Object.entries(r.prediction).sort((a, b) => b[1] - a[1]).slice(0, 3);
      parts.push(`model: ${top.map(([k, v]) => `${k} ${(100 * v).toFixed(0)}%`).join(", ")}`);
    }
    if (r.mean_entropy != null) parts.push(`mean uncertainty ${r.mean_entropy.toFixed(3)}`);
    if (r.rank_info) parts.push(r.rank_info);
    infoText.textContent = parts.join("  ·  ");
    const opts = model.get("fit_options") || "";
    // The source in the header ("clusters: the model's recommended options"), the whole
    // configuration (layers, clusterer, prior) on hover.
    fitOut.textContent = opts ? `  ·  clusters: ${opts.split(":")[0]}` : "";
    fitOut.title = opts;
    for (const key of ["uncertain", "atypical"]) {
      const pos = S.rankPos[key];
      rankBadges[key].textContent = pos >= 0 && S.rankN[key] ? ` #${pos + 1} of ${S.rankN[key]}` : "";
    }
  }

  function drawOcc() {
    const hl = env.highlight();
    const occ = S.occ;
    if (!occ || hl == null || occ.id !== hl) {
      occOut.textContent = "";
      delete occOut.dataset.index;
      return;
    }
    const name = S.pal.title(occ.id, env.labels());
    occOut.textContent = occ.n ? `${name}: occurrence ${occ.idx + 1} / ${occ.n}` : `${name} does not occur in this ECG`;
    occOut.dataset.index = String(occ.idx + 1);
    occOut.dataset.count = String(occ.n);
  }

  // Legend: one button per cluster, updated in place (keyed by stable id); clicks go
  // through the legend's one delegated listener (index.js).
  const legendItems = new Map();
  function drawLegend() {
    const { cur, pal } = S;
    const whole = selectionSummary(cur.ids, cur.ent, null, 0, cur.ids.length);
    const byId = new Map(whole.clusters.map((c) => [c.id, c]));
    const hl = env.highlight();
    const nodes = [];
    // The cards' own list (cur.clusters, in id order like the cards): legend and cards
    // are two views of one answer, drawn in the same step (index.js redrawAll).
    const ids = cur.clusters.map((c) => c.id).sort((a, b) => a - b);
    const keep = new Set(ids);
    for (const id of [...legendItems.keys()]) if (!keep.has(id)) legendItems.delete(id);
    for (const id of ids) {
      let it = legendItems.get(id);
      if (!it) {
        const b = h(doc, "button", "ecw-legend-item");
        b.type = "button";
        const sw = swatch(doc, id, pal);
        const name = h(doc, "span", "ecw-legend-name");
        const val = h(doc, "span", "ecw-legend-val");
        b.append(sw, name, val);
        it = { b, sw, name, val };
        legendItems.set(id, it);
      }
      const c = byId.get(id);
      const info = cur.clusters.find((x) => x.id === id) || {};
      const shown = pal.titleOrProposal(id, env.labels(), info.proposed_name, info.ancestors);
      const title = shown.text;
      swatch(doc, id, pal, it.sw);
      it.b.dataset.clusterId = String(id);
      it.b.dataset.num = pal.short(id);
      it.b.setAttribute("aria-pressed", hl === id ? "true" : "false");
      it.b.classList.toggle("ecw-legend-active", hl === id);
      it.b.classList.toggle("ecw-legend-absent", !c);
      it.b.title = `${title}${shown.proposed ? " (proposed name, not confirmed)" : ""}: ${c ? fmtPct(c.share) : "0%"} of this ECG, mean uncertainty ${c ? c.mean_entropy.toFixed(2) : "—"} (click to highlight; stable id ${id})`;
      it.name.textContent = title;
      // A proposal looks different from an expert's name (italic, "?"), in the legend as
      // in the cards, until it is accepted or typed over.
      it.name.classList.toggle("ecw-proposed", shown.proposed);
      it.b.dataset.proposed = shown.proposed ? info.proposed_name : "";
      it.val.textContent = c ? `${(100 * c.share).toFixed(0)}% · H̄ ${c.mean_entropy.toFixed(2)}` : "absent";
      nodes.push(it.b);
    }
    reorder(legend, nodes);
  }

  function drawClusters() {
    const cur = S.cur;
    panel.update({
      clusters: cur.clusters, protos: cur.protos, protoShape: cur.protoShape, snips: cur.snips,
      snipShape: cur.snipShape, lead: S.protoLead, labels: env.labels(),
      vocab: model.get("label_vocab") || DEFAULT_VOCAB, highlight: model.get("highlight_cluster"),
      theme: S.theme, pal: S.pal,
    });
    drawConfidence();
    const names = cur.rec.lead_names || [];
    if (leadPick.options.length !== names.length) {
      leadPick.replaceChildren(...names.map((n, i) => option(doc, i, `prototype lead ${n}`)));
    }
    leadPick.value = String(S.protoLead);
  }

  // The swatches of the confidence line, kept per cluster id (redrawn only when their
  // colour changes) rather than a new canvas per cluster on every answer.
  const confSwatches = new Map();
  function drawConfidence() {
    const groups = { confident: [], unsure: [] };
    for (const c of [...S.cur.clusters].sort((a, b) => a.id - b.id)) {
      if (c.confidence in groups) groups[c.confidence].push(c);
    }
    conf.replaceChildren();
    conf.hidden = !groups.confident.length && !groups.unsure.length;
    for (const [key, label] of [["confident", "confident"], ["unsure", "unsure"]]) {
      const row = h(doc, "div", `ecw-conf-row ecw-conf-${key}`);
      row.dataset.group = key;
      row.append(h(doc, "span", "ecw-conf-label", `${label}:`));
      for (const c of groups[key]) {
        const item = h(doc, "span", "ecw-conf-item");
        item.dataset.clusterId = String(c.id);
        item.dataset.num = S.pal.short(c.id);
        item.append(swatch(doc, c.id, S.pal, confSwatches.get(c.id)), ` ${S.pal.short(c.id)}`);
        confSwatches.set(c.id, item.firstChild);
        item.title = `${S.pal.title(c.id, env.labels())}: mean uncertainty at the ${Math.round(100 * c.mean_pct)}th percentile of this dataset`;
        row.append(item);
      }
      if (!groups[key].length) row.append(h(doc, "span", "ecw-conf-none", "none"));
      conf.append(row);
    }
  }

  return { panel, conf, drawSummary, drawInfo, drawOcc, drawLegend, drawClusters };
}
