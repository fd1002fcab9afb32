// What keys, buttons and the pointer do: one named action each (the names come from
// keys.js), acting on the view's shared state and sending requests through protocol.js.

import { LAYOUTS, naturalSpan } from "./layout.js";
import { panView, zoomView } from "./brush.js";
import { BAND_STYLES, occurrences, stepOccurrence } from "./bands.js";
import { checkInt } from "./validate.js";

/**
 * @param {Record<string, any>} c  the view's parts and functions (index.js)
 * @returns {{doAction: (a: string) => void, askK: (k: number) => void}}
 */
export function createActions(c) {
  const { model, S, proto, kjob, draw, panels, help, calOut, tb, get, duration, highlight, updateBusy, refuse,
    setViewAndSync, setSelection, pickCluster, setTrait, syncControls, clearCaliper, undoLabels } = c;

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

  function rankStep(key, dir) {
    const n = S.rankN[key] || 0;
    let pos = S.rankPos[key] + dir;
    if (pos < 0) pos = n ? n - 1 : 0;
    proto.send({ rank: key, rank_pos: pos, rank_source: "ui" });
  }

  const kLimit = (which, k) =>
    `K=${k} is the ${which} K of this explorer (range ${model.get("k_min")}..${model.get("k_max")}; ` +
    "set it with ClusterExplorer(..., k_range=(low, high)))";

  function askK(k) {
    const chk = checkInt(k, model.get("k_min"), model.get("k_max"), "K");
    if (!chk.ok) return refuse(chk.why);
    tb.kValue.textContent = String(chk.value);
    tb.kSlider.value = String(chk.value);
    // In the background (js/kjob.js): the ECG shown stays usable at its K meanwhile.
    kjob.ask(chk.value);
  }

  function doAction(a) {
    const n = model.get("n_records");
    const idx = proto.wanted("index");
    const k = kjob.wanted() ?? proto.wanted("k"); // +/- build on a K change under way
    const cycle = (key, list, fallback) => {
      const i = list.indexOf(get(key, fallback));
      setTrait(key, list[(i + 1) % list.length]);
    };
    switch (a) {
      case "help": help.hidden = !help.hidden; break;
      case "undo": undoLabels(-1); break;
      case "redo": undoLabels(1); break;
      // At an end of a range the key says so instead of doing nothing.
      case "k+": if (k < model.get("k_max")) askK(k + 1); else refuse(kLimit("largest", k)); break;
      case "k-": if (k > model.get("k_min")) askK(k - 1); else refuse(kLimit("smallest", k)); break;
      case "prev": if (idx > 0) proto.send({ index: idx - 1 }); else refuse("this is the first ECG (index 0)"); break;
      case "next": if (idx < n - 1) proto.send({ index: idx + 1 }); else refuse(`this is the last ECG (index ${n - 1})`); break;
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
      case "gradcam":
        if (model.get("gradcam_unavailable")) refuse(model.get("gradcam_unavailable"));
        else setTrait("show_gradcam", !model.get("show_gradcam"));
        break;
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
        if (kjob.wanted() != null) { kjob.cancel(); break; }
        if (S.caliper) { clearCaliper(); break; }
        setSelection(null);
        if (model.get("highlight_cluster") >= 0) pickCluster(model.get("highlight_cluster"));
        break;
      default:
        if (a.startsWith("cluster")) {
          const j = Number(a.slice(7)) - 1;
          if (j < S.pal.ids.length) pickCluster(S.pal.ids[j]);
          else refuse(`there is no cluster ${j + 1} at K=${S.pal.ids.length}`);
        }
    }
  }

  return { doAction, askK };
}
