// Cluster colours, hatches and display numbers.
//
// Stable cluster ids (which survive a change of K) stay internal: on screen a cluster
// is "1" … "K" (its rank among the current ids), with a colour and a hatch. Colours
// come from a 16-colour palette chosen to stay apart from each other and from the pink
// ECG paper, once as solid colours and once as the tints drawn behind the leads, in a
// light and a dark variant (same hue, lighter for dark paper). A cluster prefers the
// slot `id % 16`, so its colour does not change with K; when two of the current ids
// want the same slot the larger one takes the next free slot, so up to 16 clusters
// never share a colour.

// Light-theme colours (dark text and pink paper around them). Mirrored in
// ecg_cluster_widget/views/palette.py.
export const PALETTE = [
  "#4075AD", "#A7811E", "#1F986D", "#A8390A", "#8D0476", "#3C990F", "#A05C85", "#5033AD",
  "#38531C", "#94182B", "#78A85D", "#97683C", "#97A31B", "#543E85", "#3A6A04", "#24ACAD",
];

// The same hues, lighter, for dark paper.
export const PALETTE_DARK = [
  "#90BEFB", "#FACB68", "#78E6B6", "#FF8350", "#DE62C0", "#8EE862", "#EFA5D0", "#A178FD",
  "#7E995E", "#E8686C", "#C4F7A6", "#E8B081", "#E8F06C", "#9E83D1", "#84B451", "#84FBFC",
];

// Hatch kinds: the second, colour-free cue (slot % 8), drawn in the strip, the cap
// above every lead, the legend and the cards.
export const HATCHES = ["none", "diag", "cross", "dots", "horiz", "vert", "backdiag", "grid"];

function idKey(id) {
  const n = Math.trunc(Number(id));
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/** Colour of a stable id on its own (no collision handling); the reports use this. */
export function colorFor(id) {
  return PALETTE[idKey(id) % PALETTE.length];
}

/**
 * Palette slot of every id in `ids`: `id % 16` when free, else the next free slot
 * (smaller ids choose first). Distinct for up to 16 ids.
 */
export function assignSlots(ids) {
  const n = PALETTE.length;
  const sorted = [...new Set([...(ids || [])].map(idKey))].sort((a, b) => a - b);
  const out = new Map();
  const used = new Set();
  for (const id of sorted) {
    if (!used.has(id % n)) {
      used.add(id % n);
      out.set(id, id % n);
    }
  }
  for (const id of sorted) {
    if (out.has(id)) continue;
    let s = id % n;
    for (let k = 0; k < n && used.has(s); k++) s = (s + 1) % n;
    used.add(s);
    out.set(id, s);
  }
  return new Map(sorted.map((id) => [id, out.get(id)]));
}

function userName(id, labels) {
  const entry = labels && labels[String(id)];
  return entry && typeof entry.name === "string" ? entry.name.trim() : "";
}

/**
 * Everything the views need to show the clusters `ids` (the current K's stable ids):
 * colour(id), hatch(id), num(id) (1..K in id order), and texts built on the number.
 */
export function makePalette(ids, dark = false) {
  const slots = assignSlots(ids);
  const order = [...slots.keys()];
  const nums = new Map(order.map((id, i) => [id, i + 1]));
  const cols = dark ? PALETTE_DARK : PALETTE;
  const slot = (id) => {
    const k = idKey(id);
    return slots.has(k) ? slots.get(k) : k % cols.length;
  };
  const num = (id) => nums.get(idKey(id)) ?? null;
  const short = (id) => (num(id) != null ? String(num(id)) : `#${idKey(id)}`);
  return {
    ids: order,
    dark,
    slot,
    num,
    short,
    color: (id) => cols[slot(id)],
    hatch: (id) => HATCHES[slot(id) % HATCHES.length],
    /** the expert's name, or "" */
    userName,
    /** "QRS complex" or "cluster 3" */
    name: (id, labels) => userName(id, labels) || `cluster ${short(id)}`,
    /** "3 QRS complex" or "3": narrow places (strip, tooltip) */
    tag: (id, labels) => {
      const n = userName(id, labels);
      return n ? `${short(id)} ${n}` : short(id);
    },
    /**
     * Title with fallbacks: {text, proposed, inherited}. "3 · QRS complex" (the expert's
     * name), "3 · part of QRS complex" (no name of its own: the name of its nearest named
     * ancestor in the cluster tree, `inherited`), "3 · QRS complex?" (a proposal,
     * proposed: true) or "cluster 3".
     * @param {number} id
     * @param {Object<string, {name: string}>|null|undefined} labels
     * @param {string} [proposal]
     * @param {number[]} [ancestors]  ids at K-1, K-2, ... (explain/browse.py cards)
     * @returns {{text: string, proposed: boolean, inherited: string}}
     */
    titleOrProposal: (id, labels, proposal, ancestors = []) => {
      const n = userName(id, labels);
      if (n) return { text: `${short(id)} · ${n}`, proposed: false, inherited: "" };
      for (const a of ancestors || []) {
        const an = userName(a, labels);
        if (an) return { text: `${short(id)} · part of ${an}`, proposed: false, inherited: an };
      }
      const p = String(proposal || "").trim();
      return p
        ? { text: `${short(id)} · ${p}?`, proposed: true, inherited: "" }
        : { text: `cluster ${short(id)}`, proposed: false, inherited: "" };
    },
    /** "3 · QRS complex" or "cluster 3": titles */
    title: (id, labels) => {
      const n = userName(id, labels);
      return n ? `${short(id)} · ${n}` : `cluster ${short(id)}`;
    },
  };
}

const patternCache = new Map();

/** A CanvasPattern drawing hatch `kind` in a contrasting stroke (cached per ctx). */
export function hatchPattern(ctx, kind, stroke) {
  if (!kind || kind === "none" || typeof document === "undefined") return null;
  const key = `${kind}|${stroke}`;
  let byCtx = patternCache.get(ctx);
  if (!byCtx) {
    byCtx = new Map();
    patternCache.set(ctx, byCtx);
  }
  if (byCtx.has(key)) return byCtx.get(key);
  const size = 8;
  const c = document.createElement("canvas");
  c.width = size;
  c.height = size;
  const g = c.getContext("2d");
  g.strokeStyle = stroke;
  g.fillStyle = stroke;
  g.lineWidth = 1.2;
  g.beginPath();
  if (kind === "diag" || kind === "cross") { g.moveTo(0, size); g.lineTo(size, 0); }
  if (kind === "backdiag" || kind === "cross") { g.moveTo(0, 0); g.lineTo(size, size); }
  if (kind === "horiz" || kind === "grid") { g.moveTo(0, size / 2); g.lineTo(size, size / 2); }
  if (kind === "vert" || kind === "grid") { g.moveTo(size / 2, 0); g.lineTo(size / 2, size); }
  g.stroke();
  if (kind === "dots") { g.fillRect(2, 2, 3, 3); }
  const pat = ctx.createPattern(c, "repeat");
  byCtx.set(key, pat);
  return pat;
}
