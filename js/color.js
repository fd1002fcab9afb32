// Colour arithmetic on "#rrggbb" strings, shared by the views.

/**
 * "#rrggbb" or "#rgb" -> [r, g, b] in 0..255.
 * @param {string} hex
 * @returns {number[]}
 */
export function hexRgb(hex) {
  const h = String(hex).replace("#", "");
  const full = h.length === 3 ? h.split("").map((c) => c + c).join("") : h;
  return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16));
}

/**
 * "#rrggbb" -> "rgba(r,g,b,a)".
 * @param {string} hex
 * @param {number} alpha
 */
export function withAlpha(hex, alpha) {
  return `rgba(${hexRgb(hex).join(",")},${alpha})`;
}

/**
 * Relative luminance (0..1) of "#rrggbb" or "rgb(...)"; used to pick readable text.
 * @param {string} color
 */
export function luminance(color) {
  const m = /rgba?\(([^)]+)\)/.exec(color || "");
  const [r, g, b] = m ? m[1].split(",").map((x) => parseFloat(x)) : hexRgb(color || "#ffffff");
  /** @param {number} c */
  const lin = (c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/**
 * Black or white, whichever contrasts more with the background colour.
 * @param {string} bg
 */
export function textColorOn(bg) {
  return luminance(bg) > 0.2 ? "#000000" : "#ffffff";
}

/**
 * sRGB hex -> CIELAB (D65), for the palette checks.
 * @param {string} hex
 */
export function toLab(hex) {
  const c = hexRgb(hex)
    .map((v) => v / 255)
    .map((v) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  const x = (0.4124 * c[0] + 0.3576 * c[1] + 0.1805 * c[2]) / 0.95047;
  const y = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  const z = (0.0193 * c[0] + 0.1192 * c[1] + 0.9505 * c[2]) / 1.08883;
  /** @param {number} t */
  const f = (t) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

/**
 * Colour `hex` at `alpha` over the opaque `bg` (both "#rrggbb"), as "#rrggbb".
 * @param {string} hex
 * @param {number} alpha
 * @param {string} bg
 */
export function blendOver(hex, alpha, bg) {
  const b = hexRgb(bg);
  const mix = hexRgb(hex).map((v, i) => Math.round(alpha * v + (1 - alpha) * b[i]));
  return "#" + mix.map((v) => v.toString(16).padStart(2, "0")).join("");
}
