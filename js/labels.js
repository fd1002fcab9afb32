// Expert labelling: a name (free text or the controlled list) and notes per stable
// cluster id, written back to the `cluster_labels` trait.

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

let uid = 0;

/** Name input (with the vocabulary as a datalist) + notes textarea for one cluster. */
export function buildLabelEditor(doc, id, labels, vocab, onCommit) {
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
  const entry = (labels && labels[String(id)]) || {};
  const name = doc.createElement("input");
  name.type = "text";
  name.className = "ecw-label-name";
  name.placeholder = "name (e.g. QRS complex)";
  name.setAttribute("list", listId);
  name.setAttribute("aria-label", `name of cluster C${id}`);
  name.dataset.clusterId = String(id);
  name.value = entry.name || "";
  const notes = doc.createElement("textarea");
  notes.className = "ecw-label-notes";
  notes.rows = 2;
  notes.placeholder = "notes";
  notes.setAttribute("aria-label", `notes on cluster C${id}`);
  notes.value = entry.notes || "";
  const commit = () => onCommit(id, name.value, notes.value);
  name.addEventListener("change", commit);
  name.addEventListener("keydown", (ev) => {
    ev.stopPropagation(); // typing must not trigger widget shortcuts
    if (ev.key === "Enter") commit();
  });
  notes.addEventListener("change", commit);
  notes.addEventListener("keydown", (ev) => ev.stopPropagation());
  for (const el of [name, notes]) el.addEventListener("click", (ev) => ev.stopPropagation());
  wrap.append(name, dl, notes);
  return wrap;
}
