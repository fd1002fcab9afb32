// Expert labelling: a name (free text or the controlled list) and notes per stable
// cluster id, written back to the `cluster_labels` trait.

import { checkLabelKey } from "./validate.js";

export const DEFAULT_VOCAB = [
  "P wave", "QRS complex", "T wave", "ST segment", "TP baseline", "PR segment", "artifact", "other",
];

/** New labels dict with `id`'s entry replaced; empty entries are dropped. */
export function updateLabels(labels, id, name, notes) {
  const out = { ...(labels || {}) };
  const n = String(name || "").trim();
  const t = String(notes || "").trim();
  if (!n && !t) delete out[String(id)];
  else out[String(id)] = { name: n, notes: t };
  return out;
}

/**
 * Undo / redo of label edits, per cluster: each edit remembers the cluster's entry before
 * and after, so undoing one edit never reverts another cluster's label (nor a label set
 * from Python in between).
 */
export function createLabelHistory(limit = 200) {
  const done = [];
  const undone = [];
  const entry = (labels, id) => {
    const e = (labels || {})[String(id)];
    return e ? { ...e } : null;
  };
  const put = (labels, id, e) => {
    const out = { ...(labels || {}) };
    if (e) out[String(id)] = { ...e };
    else delete out[String(id)];
    return out;
  };
  return {
    /** Remember that `before` became `after` by an edit of cluster `id`. */
    record(before, after, id) {
      done.push({ id, before: entry(before, id), after: entry(after, id) });
      if (done.length > limit) done.shift();
      undone.length = 0;
    },
    /** Labels with the last edit undone ({labels, id}), or null when there is none. */
    undo(current) {
      const e = done.pop();
      if (!e) return null;
      undone.push(e);
      return { labels: put(current, e.id, e.before), id: e.id };
    },
    redo(current) {
      const e = undone.pop();
      if (!e) return null;
      done.push(e);
      return { labels: put(current, e.id, e.after), id: e.id };
    },
    sizes: () => [done.length, undone.length],
  };
}

/**
 * The label edits of one view: each is checked, recorded for undo and written to the
 * `cluster_labels` trait.
 * @param {{model: any, save: () => void, flash: (text: string) => void,
 *          refuse: (why: string) => void, ids: () => number[], title: (id: number) => string,
 *          offlineNote: () => boolean}} o
 */
export function createLabelEditing(o) {
  const history = createLabelHistory();
  const labels = () => o.model.get("cluster_labels") || {};
  const write = (next) => {
    o.model.set("cluster_labels", next);
    o.save();
  };
  return {
    history,
    /** Set cluster `id`'s name and notes (from a card's editor). */
    edit(id, name, notes) {
      const chk = checkLabelKey(id, o.ids());
      if (!chk.ok) return o.refuse(chk.why);
      const before = labels();
      const after = updateLabels(before, id, name, notes);
      history.record(before, after, id);
      write(after);
      if (o.offlineNote()) o.flash("labels are kept in this view only (kernel disconnected)");
    },
    /** Undo (dir -1) or redo (+1) the last label edit made in this view. */
    undo(dir) {
      const r = dir < 0 ? history.undo(labels()) : history.redo(labels());
      if (!r) return o.flash(dir < 0 ? "nothing to undo" : "nothing to redo");
      write(r.labels);
      o.flash(`${dir < 0 ? "undone" : "redone"}: label of ${o.title(r.id)}`);
    },
  };
}

let uid = 0;

/**
 * Name input (with the vocabulary as a datalist) + notes textarea for one cluster.
 *
 * Returns {el, name, notes, set(entry), flush()}. Both fields are saved together
 * (onCommit(id, name, notes)) on Enter, on change / blur, and while typing (debounced),
 * so no typed text is lost when focus moves or the widget redraws. `set` refreshes the
 * fields from the labels trait but never overwrites a field the user is editing.
 */
export function buildLabelEditor(doc, id, labels, vocab, onCommit, opts = {}) {
  const wrap = doc.createElement("div");
  wrap.className = "ecw-label-editor";
  const listId = `ecw-vocab-${++uid}`;
  const dl = doc.createElement("datalist");
  dl.id = listId;
  for (const v of vocab && vocab.length ? vocab : DEFAULT_VOCAB) {
    const o = doc.createElement("option");
    o.value = v;
    dl.appendChild(o);
  }
  const name = doc.createElement("input");
  name.type = "text";
  name.className = "ecw-label-name";
  name.placeholder = "name (e.g. QRS complex)";
  name.setAttribute("list", listId);
  name.dataset.clusterId = String(id);
  const notes = doc.createElement("textarea");
  notes.className = "ecw-label-notes";
  notes.rows = 2;
  notes.placeholder = "notes";
  notes.dataset.clusterId = String(id);
  const setAria = (shown) => {
    name.setAttribute("aria-label", `name of cluster ${shown}`);
    notes.setAttribute("aria-label", `notes on cluster ${shown}`);
  };
  setAria(opts.shown || String(id));
  // Last values sent (or received): a field differing from them has unsaved typing.
  let saved = { name: "", notes: "" };
  let timer = null;
  const commit = () => {
    clearTimeout(timer);
    timer = null;
    const v = { name: name.value, notes: notes.value };
    if (v.name.trim() === saved.name.trim() && v.notes.trim() === saved.notes.trim()) return;
    saved = v;
    onCommit(id, v.name, v.notes);
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(commit, opts.debounceMs ?? 500);
  };
  name.addEventListener("change", commit);
  name.addEventListener("blur", commit);
  name.addEventListener("input", later);
  name.addEventListener("keydown", (ev) => {
    ev.stopPropagation(); // typing must not trigger widget shortcuts
    if (ev.key === "Enter") {
      ev.preventDefault();
      commit();
      opts.onDone?.();
    } else if (ev.key === "Escape") {
      commit();
      opts.onDone?.();
    }
  });
  notes.addEventListener("change", commit);
  notes.addEventListener("blur", commit);
  notes.addEventListener("input", later);
  notes.addEventListener("keydown", (ev) => {
    ev.stopPropagation();
    if (ev.key === "Escape") {
      commit();
      opts.onDone?.();
    }
  });
  for (const el of [name, notes]) el.addEventListener("click", (ev) => ev.stopPropagation());
  // The proposed name (a suggestion, never saved as the expert's name until accepted):
  // a button under the field, → in the empty field, or "a" on the card accept it.
  let proposal = "";
  const acceptBtn = doc.createElement("button");
  acceptBtn.type = "button";
  acceptBtn.className = "ecw-accept";
  acceptBtn.hidden = true;
  const accept = () => {
    if (!proposal || name.value.trim()) return false;
    name.value = proposal;
    commit();
    syncProposal();
    return true;
  };
  const syncProposal = () => {
    const offer = !!proposal && !name.value.trim();
    acceptBtn.hidden = !offer;
    acceptBtn.textContent = offer ? `✓ use proposed name “${proposal}”` : "";
    acceptBtn.title = "a name proposed from the wave landmarks; click (or press → in the empty field, or a on the card) to accept it";
    name.placeholder = offer ? `proposed: ${proposal} (→ accepts)` : "name (e.g. QRS complex)";
  };
  acceptBtn.addEventListener("click", (ev) => {
    ev.stopPropagation();
    accept();
    name.focus({ preventScroll: true });
  });
  name.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowRight" && !name.value && proposal) {
      ev.preventDefault();
      accept();
    }
  });
  name.addEventListener("input", syncProposal);
  const propose = (p) => {
    proposal = String(p || "").trim();
    syncProposal();
  };
  wrap.append(name, dl, acceptBtn, notes);
  const set = (entry, shown) => {
    const e = entry || {};
    const incoming = { name: e.name || "", notes: e.notes || "" };
    const dirty = (f) => f.value.trim() !== saved[f === name ? "name" : "notes"].trim();
    for (const [f, key] of [[name, "name"], [notes, "notes"]]) {
      const editing = doc.activeElement === f || dirty(f) || timer != null;
      if (!editing && f.value !== incoming[key]) f.value = incoming[key];
    }
    if (!(doc.activeElement === name || doc.activeElement === notes || timer != null)) saved = incoming;
    if (shown) setAria(shown);
    syncProposal();
  };
  set((labels && labels[String(id)]) || {});
  return { el: wrap, name, notes, set, flush: commit, propose, accept };
}
