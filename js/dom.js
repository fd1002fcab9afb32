// Small DOM functions shared by the view modules.

/** Element `tag` with a class and text. */
export function h(doc, tag, cls, text) {
  const e = doc.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

/** An <option>. */
export function option(doc, value, text) {
  const o = h(doc, "option", null, text);
  o.value = String(value);
  return o;
}

export function fmtPct(v) {
  return `${(100 * v).toFixed(1)}%`;
}
