// Where the explorer sits and how tall the ECG may be: the height that keeps the whole
// ECG in view (the `fit` setting) and presentation mode's place directly under <body>.

/**
 * Whether the ancestor `n` bounds the visible height: it scrolls (overflow auto or
 * scroll) and its content overflows it, as JupyterLab's notebook panel does around a
 * widget fitted to it. A box that may scroll but is as tall as its content (JupyterLab's
 * output area) takes its height from the widget, and fitting to it shrank the ECG by a
 * little on every redraw (every K change), without end.
 * @param {HTMLElement} n
 */
export function limitsHeight(n) {
  const oy = getComputedStyle(n).overflowY;
  return (oy === "auto" || oy === "scroll") && n.clientHeight > 200 && n.scrollHeight > n.clientHeight + 1;
}

/**
 * @param {{doc: Document, el: HTMLElement, root: HTMLElement, stage: HTMLElement,
 *          reg: any, present: () => boolean}} o
 */
export function createPlacement(o) {
  const { doc, el, root, stage } = o;

  /** Height for the ECG stage: the visible height of the scrolling area around the
   * widget (JupyterLab's notebook panel, or the window) minus what the widget shows above
   * the ECG; in presentation mode the window itself (position: fixed, nothing scrolls). */
  function fitTarget() {
    let viewH = (doc.defaultView && doc.defaultView.innerHeight) || 900;
    const present = o.present();
    for (let n = root.parentElement; !present && n && n !== doc.body; n = n.parentElement) {
      if (limitsHeight(n)) viewH = Math.min(viewH, n.clientHeight);
    }
    const above = stage.getBoundingClientRect().top - root.getBoundingClientRect().top;
    return Math.max(present ? 200 : 360, viewH - above - 16);
  }

  // Presentation mode covers the window with position: fixed, which an ancestor with a
  // transform (JupyterLab's notebook windowing) would confine to itself: while presenting,
  // the view lives directly under <body>, and goes back into its output afterwards.
  function place(present) {
    const where = present ? doc.body : el;
    if (!where || root.parentElement === where) return;
    const had = root.contains(doc.activeElement);
    where.appendChild(root);
    if (had) root.focus({ preventScroll: true });
  }
  o.reg.onTeardown(() => { if (root.parentElement !== el) root.remove(); });

  return { fitTarget, place };
}
