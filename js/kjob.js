// K changes in the background (views/k_jobs.py): the K slider and +/- send `k_request`
// instead of an ordinary request, so the ECG shown stays usable at its K (browsing,
// brushing, labelling) while the new K is computed. This module sends those requests and
// draws the job's progress, elapsed time and a cancel button from the `k_job` trait.

import { h } from "./dom.js";

/** The progress element shown in the toolbar (hidden while no K change runs). */
export function buildKJob(doc) {
  const el = h(doc, "span", "ecw-kjob");
  el.setAttribute("role", "status");
  el.hidden = true;
  const bar = h(doc, "progress", "ecw-kjob-bar");
  const text = h(doc, "span", "ecw-kjob-text");
  const cancel = h(doc, "button", "ecw-btn ecw-kjob-cancel", "cancel");
  cancel.title = "stop this K change (the ECG keeps its current K)";
  el.append(bar, text, cancel);
  return { el, bar, text, cancel };
}

/**
 * @param {{model: any, reg: any, ui: ReturnType<typeof buildKJob>, offline: () => boolean,
 *          save: () => void, refuse: (why: string) => void, onChange: () => void}} o
 */
export function createKJob(o) {
  const { model, reg, ui } = o;
  let kid = 0;
  let wantK = null; // the K asked for and not yet drawn (the slider shows it meanwhile)
  let droppedK = null; // the K of the last cancelled change: its late answer is not drawn
  let seen = { id: 0, t: 0 }; // when this view first saw the running job (elapsed time)
  const job = () => model.get("k_job") || {};
  const running = () => job().state === "running" && job().id === kid;

  function post(body) {
    if (o.offline()) {
      o.refuse("changing K needs the kernel (re-run the cell to recompute)");
      return false;
    }
    kid = Math.max(kid, (model.get("k_request") || {}).id || 0) + 1;
    model.set("k_request", { id: kid, ...body });
    o.save();
    return true;
  }

  /** Ask for K = k (already checked against the range). */
  function ask(k) {
    if (k === model.get("n_clusters") && wantK == null) return;
    if (k === model.get("n_clusters")) {
      cancel(); // back to the K shown: nothing to compute
      return;
    }
    if (post({ k })) {
      wantK = k;
      droppedK = null;
      seen = { id: kid, t: performance.now() };
      draw();
      o.onChange();
    }
  }

  function cancel() {
    if (wantK == null) return;
    const k = wantK;
    if (post({ cancel: true })) {
      wantK = null;
      droppedK = k;
      ui.el.hidden = false;
      ui.el.dataset.state = "cancelled";
      ui.bar.hidden = true;
      ui.cancel.hidden = true;
      ui.text.textContent = `K=${k} cancelled; still K=${model.get("n_clusters")}`;
      reg.timeout("kjob-hide", () => {
        if (wantK != null) return;
        ui.el.hidden = true;
        ui.el.dataset.state = "";
      }, 4000);
      o.onChange();
    }
  }

  function draw() {
    const j = job();
    if (wantK == null) {
      if (ui.el.dataset.state !== "cancelled") ui.el.hidden = true;
      return;
    }
    const mine = j.id === kid;
    if (mine && j.state === "error") {
      wantK = null;
      ui.el.hidden = true;
      o.refuse(`K=${j.k} failed: ${j.error}`);
      o.onChange();
      return;
    }
    const total = mine ? j.total || 3 : 3;
    const done = mine ? j.done || 0 : 0;
    const secs = ((performance.now() - seen.t) / 1000).toFixed(1);
    ui.el.hidden = false;
    ui.el.dataset.state = "running";
    ui.el.dataset.k = String(wantK);
    ui.bar.hidden = false;
    ui.cancel.hidden = false;
    ui.bar.max = total;
    ui.bar.value = done;
    const step = mine && j.step ? `${j.step} (${Math.min(done + 1, total)}/${total})` : "starting";
    ui.text.textContent = `computing K=${wantK}: ${step} · ${secs} s`;
  }

  /** An answer was drawn: the K asked for is there (or the job is over). */
  function onAnswer() {
    if (wantK != null && model.get("n_clusters") === wantK) {
      wantK = null;
      ui.el.hidden = true;
      o.onChange();
    }
  }

  reg.dom(ui.cancel, "click", cancel);
  reg.model(model, "change:k_job", draw);
  reg.interval(() => { if (wantK != null) draw(); }, 250); // the elapsed time ticks
  /**
   * An answer at K = `k` while K = `shown` is drawn: true when it finishes a K change that
   * was replaced by another one (or cancelled) before it ended, so it must not be drawn.
   */
  function overtaken(k, shown) {
    if (k == null || k === shown) return false;
    return wantK == null ? k === droppedK : k !== wantK;
  }

  return { ask, cancel, onAnswer, overtaken, wanted: () => wantK, running };
}
