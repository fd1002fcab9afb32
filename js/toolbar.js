// The toolbar, the lead bar and the message area: built once per view, synced in place
// from the model (never rebuilt, so focus and typed text survive redraws).

import { h, option } from "./dom.js";
import { GAINS, LAYOUTS, SPEEDS } from "./layout.js";
import { BAND_STYLES } from "./bands.js";
import { buildKJob } from "./kjob.js";

export const BAND_LABELS = { light: "bands: light", strong: "bands: strong", lead: "bands: one lead", strip: "bands: strip only" };
export const RANK_LABELS = { uncertain: "most uncertain", atypical: "least typical" };

/** Build the toolbar's elements; returns them by name (`bar` holds them all). */
export function buildToolbar(doc) {
  const e = {};
  e.bar = h(doc, "div", "ecw-toolbar");
  e.prevBtn = h(doc, "button", "ecw-btn ecw-prev", "◀");
  e.prevBtn.title = "previous ECG (←)";
  e.idxInput = h(doc, "input", "ecw-index");
  e.idxInput.type = "number";
  e.idxInput.min = "0";
  e.idxInput.setAttribute("aria-label", "ECG index");
  e.nextBtn = h(doc, "button", "ecw-btn ecw-next", "▶");
  e.nextBtn.title = "next ECG (→)";
  e.ridInput = h(doc, "input", "ecw-recid");
  e.ridInput.placeholder = "record id";
  e.ridInput.setAttribute("aria-label", "record id");
  e.classSel = h(doc, "select", "ecw-class");
  e.classSel.setAttribute("aria-label", "jump to next ECG of class");
  e.rankBtns = {};
  e.rankBadges = {};
  for (const key of ["uncertain", "atypical"]) {
    const b = h(doc, "button", `ecw-btn ecw-${key}`);
    const badge = h(doc, "span", "ecw-rank-pos");
    b.append(RANK_LABELS[key], badge);
    b.title = `next ${RANK_LABELS[key]} ECG (${key[0]}; Shift+${key[0]}: previous)`;
    e.rankBtns[key] = b;
    e.rankBadges[key] = badge;
  }
  const kLabel = h(doc, "label", "ecw-k-label");
  e.kSlider = h(doc, "input", "ecw-k");
  e.kSlider.type = "range";
  e.kSlider.step = "1";
  e.kSlider.setAttribute("aria-label", "number of clusters K");
  e.kValue = h(doc, "span", "ecw-k-value");
  kLabel.append("K ", e.kSlider, e.kValue);
  e.kjob = buildKJob(doc);
  e.layoutSel = h(doc, "select", "ecw-layout");
  e.layoutSel.setAttribute("aria-label", "layout");
  for (const l of LAYOUTS) e.layoutSel.appendChild(option(doc, l, l === "3x4" ? "3x4+rhythm" : l));
  e.bandSel = h(doc, "select", "ecw-band-style");
  e.bandSel.setAttribute("aria-label", "band style");
  e.bandSel.title = "how clusters are drawn on the leads (b)";
  for (const b of BAND_STYLES) e.bandSel.appendChild(option(doc, b, BAND_LABELS[b]));
  e.gainSel = h(doc, "select", "ecw-gain");
  e.gainSel.setAttribute("aria-label", "gain");
  for (const g of GAINS) e.gainSel.appendChild(option(doc, g, `${g} mm/mV`));
  e.speedSel = h(doc, "select", "ecw-speed");
  e.speedSel.setAttribute("aria-label", "paper speed");
  for (const s of SPEEDS) e.speedSel.appendChild(option(doc, s, `${s} mm/s`));
  const camLabel = h(doc, "label", "ecw-cam-label");
  e.camBox = h(doc, "input", "ecw-cam");
  e.camBox.type = "checkbox";
  e.camSel = h(doc, "select", "ecw-cam-class");
  e.camSel.setAttribute("aria-label", "Grad-CAM class");
  camLabel.append(e.camBox, " Grad-CAM ", e.camSel);
  e.camLabel = camLabel;
  const fitLabel = h(doc, "label", "ecw-fit-label");
  e.fitBox = h(doc, "input", "ecw-fit");
  e.fitBox.type = "checkbox";
  fitLabel.title = "12x1: shrink the rows so the whole ECG fits the window (amplitude scale kept)";
  fitLabel.append(e.fitBox, " fit");
  e.calBtn = h(doc, "button", "ecw-btn ecw-caliper-btn", "calipers");
  e.calBtn.title = "calipers: drag on a lead to measure ms, bpm and mV (c)";
  e.calBtn.setAttribute("aria-pressed", "false");
  e.presBtn = h(doc, "button", "ecw-btn ecw-present-btn", "present");
  e.presBtn.title = "presentation mode: full-width ECG, larger text (f)";
  e.presBtn.setAttribute("aria-pressed", "false");
  e.scaleSel = h(doc, "select", "ecw-font-scale");
  e.scaleSel.setAttribute("aria-label", "text size");
  for (const s of [1, 1.25, 1.5, 2]) e.scaleSel.appendChild(option(doc, s, `text ×${s}`));
  e.sideBtn = h(doc, "button", "ecw-btn ecw-side-toggle", "side panel");
  e.sideBtn.title = "show / hide the side panel";
  e.helpBtn = h(doc, "button", "ecw-btn ecw-help-btn", "?");
  e.helpBtn.title = "keyboard help (?)";
  const spinner = h(doc, "span", "ecw-spinner");
  spinner.setAttribute("aria-hidden", "true");
  e.status = h(doc, "span", "ecw-status");
  e.status.setAttribute("role", "status");
  e.bar.append(e.prevBtn, e.idxInput, e.nextBtn, e.ridInput, e.classSel, e.rankBtns.uncertain,
    e.rankBtns.atypical, kLabel, e.kjob.el, e.layoutSel, e.bandSel, e.gainSel, e.speedSel, camLabel, fitLabel,
    e.calBtn, e.presBtn, e.scaleSel, e.sideBtn, e.helpBtn, spinner, e.status);
  // Refused values, failed autosaves and the labels re-map report: visible until closed.
  e.message = h(doc, "div", "ecw-message");
  e.message.setAttribute("role", "alert");
  e.messageText = h(doc, "span", "ecw-message-text");
  e.messageClose = h(doc, "button", "ecw-btn ecw-message-close", "×");
  e.messageClose.title = "dismiss";
  e.message.append(e.messageText, e.messageClose);
  e.message.hidden = true;
  e.leadBar = h(doc, "div", "ecw-leadbar");
  e.leadBtns = [];
  return e;
}

/**
 * Sync the toolbar's controls with the model (fields being typed in keep the typing).
 * @param {ReturnType<typeof buildToolbar>} e
 * @param {any} model
 * @param {{recordId: string, get: Function, mode: string, visibleLeads: number[], leadNames: string[],
 *          kWanted: number|null}} o
 */
export function syncToolbar(e, model, o) {
  const doc = e.bar.ownerDocument;
  const n = model.get("n_records");
  e.idxInput.max = String(n - 1);
  if (!e.idxInput.dataset.typing) e.idxInput.value = String(model.get("index"));
  if (!e.ridInput.dataset.typing) e.ridInput.value = o.recordId ?? "";
  e.kSlider.min = String(model.get("k_min"));
  e.kSlider.max = String(model.get("k_max"));
  // While a K change runs, the slider shows the K asked for (js/kjob.js).
  const kShown = o.kWanted ?? model.get("n_clusters");
  e.kSlider.value = String(kShown);
  e.kValue.textContent = String(kShown);
  e.layoutSel.value = model.get("ecg_layout");
  e.bandSel.value = o.get("band_style", "light");
  e.gainSel.value = String(o.get("gain", 10));
  e.speedSel.value = String(o.get("paper_speed", 25));
  e.scaleSel.value = String(o.get("font_scale", 1));
  e.camBox.checked = !!model.get("show_gradcam");
  e.fitBox.checked = !!o.get("fit_height", false);
  e.presBtn.setAttribute("aria-pressed", o.get("presentation", false) ? "true" : "false");
  e.calBtn.setAttribute("aria-pressed", o.mode === "caliper" ? "true" : "false");
  const classes = model.get("class_names") || [];
  if (e.classSel.options.length !== classes.length + 1) {
    e.classSel.replaceChildren(option(doc, "", "next of class…"), ...classes.map((c) => option(doc, c, c)));
    e.camSel.replaceChildren(option(doc, "", "predicted"), ...classes.map((c) => option(doc, c, c)));
  }
  e.camSel.value = model.get("gradcam_class") || "";
  // Grad-CAM without a bundle: disabled controls that say why (hover), not a dead box.
  const noCam = model.get("gradcam_unavailable") || "";
  e.camBox.disabled = !!noCam;
  e.camSel.disabled = !!noCam;
  e.camLabel.classList.toggle("ecw-unavailable", !!noCam);
  e.camLabel.title = noCam || "Grad-CAM of the chosen class (g)";
  e.camLabel.dataset.reason = noCam;
  const msg = [o.get("message", ""), o.get("labels_report", "")].filter(Boolean).join("  ·  ");
  e.messageText.textContent = msg;
  e.message.hidden = !msg;
  const vis = new Set(o.visibleLeads);
  const names = o.leadNames;
  if (e.leadBtns.length !== names.length || e.leadBtns.some((b, i) => b.textContent !== names[i])) {
    // Lead buttons are rebuilt only when the lead names change; their click goes
    // through the bar's one delegated listener (index.js), so nothing leaks.
    e.leadBtns.length = 0;
    e.leadBar.replaceChildren(h(doc, "span", "ecw-leadbar-title", "leads:"));
    names.forEach((name, i) => {
      const b = h(doc, "button", "ecw-lead", name);
      b.dataset.lead = String(i);
      e.leadBtns.push(b);
      e.leadBar.appendChild(b);
    });
  }
  e.leadBtns.forEach((b, i) => {
    b.classList.toggle("ecw-lead-on", vis.has(i));
    b.setAttribute("aria-pressed", vis.has(i) ? "true" : "false");
  });
}

/**
 * Register the toolbar's listeners (in the view's registry, so they go with the view).
 * @param {ReturnType<typeof buildToolbar>} e
 * @param {import("./listeners.js").Registry} reg
 * @param {Record<string, any>} a  the view's actions (index.js)
 */
export function wireToolbar(e, reg, a) {
  reg.dom(e.prevBtn, "click", () => a.doAction("prev"));
  reg.dom(e.nextBtn, "click", () => a.doAction("next"));
  for (const f of [e.idxInput, e.ridInput]) {
    reg.dom(f, "input", () => { f.dataset.typing = "1"; });
    reg.dom(f, "blur", () => { delete f.dataset.typing; });
  }
  const gotoIndex = () => {
    delete e.idxInput.dataset.typing;
    const n = a.nRecords();
    const raw = e.idxInput.value.trim();
    const v = Number(raw);
    if (!raw || !Number.isInteger(v) || v < 0 || v > n - 1) {
      // A record that cannot be shown: say so and put the shown index back.
      e.idxInput.value = String(a.wanted("index"));
      return a.refuse(`no ECG ${raw ? `"${raw}"` : "index given"}: the index must be a whole number in 0..${n - 1}`);
    }
    if (v !== a.wanted("index")) a.send({ index: v });
  };
  const gotoRecord = () => {
    delete e.ridInput.dataset.typing;
    const r = e.ridInput.value.trim();
    if (r && r !== a.recordId()) a.send({ record_id: r });
  };
  // "change" alone is not fired by Enter in every browser for number inputs.
  reg.dom(e.idxInput, "change", gotoIndex);
  reg.dom(e.ridInput, "change", gotoRecord);
  reg.dom(e.idxInput, "keydown", (ev) => { if (ev.key === "Enter") gotoIndex(); });
  reg.dom(e.ridInput, "keydown", (ev) => { if (ev.key === "Enter") gotoRecord(); });
  reg.dom(e.classSel, "change", () => {
    if (e.classSel.value) a.send({ class: e.classSel.value });
    e.classSel.value = "";
  });
  reg.dom(e.rankBtns.uncertain, "click", () => a.doAction("uncertain"));
  reg.dom(e.rankBtns.atypical, "click", () => a.doAction("atypical"));
  reg.dom(e.kSlider, "input", () => { e.kValue.textContent = e.kSlider.value; });
  reg.dom(e.kSlider, "change", () => a.askK(Number(e.kSlider.value)));
  reg.dom(e.layoutSel, "change", () => a.setTrait("ecg_layout", e.layoutSel.value));
  reg.dom(e.bandSel, "change", () => a.setTrait("band_style", e.bandSel.value));
  reg.dom(e.gainSel, "change", () => a.setTrait("gain", Number(e.gainSel.value)));
  reg.dom(e.speedSel, "change", () => a.setSpeed(Number(e.speedSel.value)));
  reg.dom(e.scaleSel, "change", () => a.setTrait("font_scale", Number(e.scaleSel.value)));
  reg.dom(e.camBox, "change", () => a.setTrait("show_gradcam", e.camBox.checked));
  reg.dom(e.fitBox, "change", () => a.setTrait("fit_height", e.fitBox.checked));
  reg.dom(e.camSel, "change", () => a.send({ gradcam_class: e.camSel.value }));
  reg.dom(e.calBtn, "click", () => a.doAction("calipers"));
  reg.dom(e.presBtn, "click", () => a.doAction("present"));
  reg.dom(e.sideBtn, "click", a.toggleSide);
  reg.dom(e.helpBtn, "click", () => a.doAction("help"));
  reg.dom(e.messageClose, "click", () => {
    a.dismiss();
    e.message.hidden = true;
  });
  // Delegated: lead buttons are rebuilt when the lead names change (syncToolbar).
  reg.dom(e.leadBar, "click", (ev) => {
    const b = ev.target.closest && ev.target.closest("[data-lead]");
    if (b) a.toggleLead(Number(b.dataset.lead));
  });
}
