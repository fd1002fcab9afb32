// Keyboard map and the "?" help overlay.

export const KEYMAP = [
  ["?", "show / hide this help"],
  ["+ / -", "more / fewer clusters (K)"],
  ["← / →", "previous / next ECG"],
  ["u / t", "next most uncertain / least typical ECG (Shift: previous)"],
  ["Shift+← / Shift+→", "pan the time window"],
  ["i / o", "zoom in / out (also mouse wheel)"],
  ["0", "reset zoom"],
  ["n / p", "next / previous occurrence of the highlighted cluster (wraps)"],
  ["1 … 9", "highlight cluster 1 … 9 (again: clear)"],
  ["b", "cycle band styles: light, strong, one lead, strip only"],
  ["c", "calipers on / off: drag to measure ms, bpm and mV"],
  ["f", "presentation mode (full-width ECG, larger text)"],
  ["g", "toggle the Grad-CAM overlay"],
  ["l", "cycle layouts 12x1 → 6x2 → 3x4"],
  ["a", "accept the proposed name of the focused card (→ in an empty name field)"],
  ["Esc", "close help, cancel a K change, clear selection and highlight"],
  ["Ctrl+Z / Ctrl+Shift+Z", "undo / redo the last label edit (outside the text fields)"],
  ["drag", "brush a time range (synced across leads); hover: crosshair + readout"],
  ["Shift+drag / wheel", "pan / zoom"],
];

/** Map a KeyboardEvent to an action name, or null. */
export function actionFor(ev) {
  const k = ev.key;
  if ((ev.ctrlKey || ev.metaKey) && (k === "z" || k === "Z")) return ev.shiftKey ? "redo" : "undo";
  if ((ev.ctrlKey || ev.metaKey) && k === "y") return "redo";
  if (ev.ctrlKey || ev.metaKey) return null;
  if (k === "?") return "help";
  if (k === "+" || k === "=") return "k+";
  if (k === "-" || k === "_") return "k-";
  if (k === "ArrowLeft") return ev.shiftKey ? "pan-" : "prev";
  if (k === "ArrowRight") return ev.shiftKey ? "pan+" : "next";
  if (k === "u") return "uncertain";
  if (k === "t") return "atypical";
  if (k === "U") return "uncertain-prev";
  if (k === "T") return "atypical-prev";
  if (k === "b") return "bands";
  if (k === "c") return "calipers";
  if (k === "f") return "present";
  if (k === "i") return "zoom-in";
  if (k === "o") return "zoom-out";
  if (k === "0") return "zoom-reset";
  if (k === "n") return "occ+";
  if (k === "p") return "occ-";
  if (k === "g") return "gradcam";
  if (k === "l") return "layout";
  if (k === "Escape") return "escape";
  if (/^[1-9]$/.test(k)) return `cluster${k}`;
  return null;
}

export function buildHelp(doc) {
  const box = doc.createElement("div");
  box.className = "ecw-help";
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-label", "Keyboard shortcuts");
  box.hidden = true;
  const h = doc.createElement("h4");
  h.textContent = "Keyboard shortcuts";
  box.appendChild(h);
  const table = doc.createElement("table");
  for (const [key, what] of KEYMAP) {
    const tr = doc.createElement("tr");
    const a = doc.createElement("td");
    const kbd = doc.createElement("kbd");
    kbd.textContent = key;
    a.appendChild(kbd);
    const b = doc.createElement("td");
    b.textContent = what;
    tr.append(a, b);
    table.appendChild(tr);
  }
  box.appendChild(table);
  return box;
}
