// The explorer's DOM, built once per view: toolbar, info line, legend, ECG stage,
// side panel and help. Later updates change these nodes in place.

import { h } from "./dom.js";
import { buildHelp } from "./keys.js";
import { DISCONNECTED } from "./protocol.js";
import { buildToolbar } from "./toolbar.js";

/**
 * @param {Document} doc
 */
export function buildShell(doc) {
  const root = h(doc, "div", "ecw-root");
  root.tabIndex = 0;
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.setAttribute("aria-label", "ECG cluster explorer (press ? for keyboard help)");
  const tb = buildToolbar(doc);
  const offlineMsg = h(doc, "div", "ecw-offline-msg", `⚠ ${DISCONNECTED}. Brush, zoom, hover and highlighting still work here.`);
  offlineMsg.setAttribute("role", "alert");
  offlineMsg.hidden = true;
  const info = h(doc, "div", "ecw-info");
  const infoText = h(doc, "span", "ecw-info-text");
  const occOut = h(doc, "span", "ecw-occ");
  occOut.setAttribute("aria-live", "polite");
  const calOut = h(doc, "span", "ecw-caliper-out");
  // Where the clusters' configuration came from (the model's own or a fallback preset).
  const fitOut = h(doc, "span", "ecw-fit-options");
  info.append(infoText, occOut, calOut, fitOut);
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
  const leadPick = /** @type {HTMLSelectElement} */ (h(doc, "select", "ecw-proto-lead"));
  leadPick.setAttribute("aria-label", "prototype lead (also the lead of 'bands: one lead')");
  const main = h(doc, "div", "ecw-main");
  main.append(stageCol, side);
  const help = buildHelp(doc);
  root.append(tb.bar, tb.message, offlineMsg, tb.leadBar, info, main, help);
  return { root, tb, offlineMsg, infoText, occOut, calOut, fitOut, legend, stage, base, overlay, tip, side, summary, leadPick, help };
}
