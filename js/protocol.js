// The request / response protocol with the kernel (views/protocol.py): requests carry an
// id, answers older than the latest request are ignored, and a request that goes
// unanswered triggers a ping to tell a busy kernel from a dead one.

export const DISCONNECTED = "kernel disconnected: re-run the cell to recompute";
export const NO_ANSWER = "the kernel does not answer (busy or disconnected): re-run the cell to recompute";

/**
 * @param {{model: any, reg: import("./listeners.js").Registry, offline: () => boolean,
 *          standalone: boolean, save: () => void, onState: () => void}} o
 */
export function createProtocol(o) {
  const { model, reg } = o;
  let pendingId = Math.max(model.get("response_id"), (model.get("request") || {}).id || 0);
  // Wanted state not yet confirmed by a response: later requests build on it, so a quick
  // "+ + →" asks for K+2 on the next ECG rather than undoing the first press.
  let want = {};
  let lastPong = 0;
  const st = { noAnswer: false, flash: "" };
  const wanted = (key) => (key in want ? want[key] : model.get(key === "k" ? "n_clusters" : key));

  function watchdog() {
    reg.timeout("ping", () => {
      if (pendingId <= model.get("response_id")) return;
      const t = Date.now();
      try {
        model.send({ type: "ping", t });
      } catch (err) { /* no comm */ }
      reg.timeout("ping", () => {
        if (lastPong < t && pendingId > model.get("response_id")) {
          st.noAnswer = true;
          o.onState();
        }
      }, 4000);
    }, 4000);
  }

  /** Send a request built on the wanted state; false (and a message) when offline. */
  function send(extra) {
    if (o.offline()) {
      st.flash = o.standalone ? "static export: re-run the notebook to recompute" : DISCONNECTED;
      o.onState();
      return false;
    }
    for (const key of ["k", "index", "gradcam_class"]) if (key in extra) want[key] = extra[key];
    pendingId = Math.max(pendingId, model.get("response_id"), (model.get("request") || {}).id || 0) + 1;
    const req = {
      id: pendingId, k: wanted("k"), index: wanted("index"), gradcam_class: wanted("gradcam_class"),
      ...extra,
    };
    st.flash = "";
    model.set("request", req);
    o.save();
    o.onState();
    watchdog();
    return true;
  }

  /** A response arrived: true when it answers the latest request (else it is stale). */
  function accept() {
    st.noAnswer = false;
    if (model.get("response_id") < pendingId) return false;
    want = {};
    return true;
  }

  function onPong() {
    lastPong = Date.now();
    st.noAnswer = false;
    o.onState();
  }

  /** What the status line shows now. */
  function statusView() {
    const off = o.offline();
    const busy = !off && (pendingId > model.get("response_id") || model.get("busy"));
    const err = model.get("error");
    let text = model.get("status") || "";
    if (st.noAnswer && busy) text = NO_ANSWER;
    if (off && !o.standalone) text = DISCONNECTED;
    if (st.flash) text = st.flash;
    if (err && !off) text = `⚠ ${err}`;
    return { off, busy: !!busy, text, isError: !!err || (off && !o.standalone) || (st.noAnswer && busy) };
  }

  return { send, accept, onPong, statusView, wanted, st };
}
