// The page around a view: its width, the colour theme, and the connection to the kernel.

/**
 * @param {import("./index.js").Core} c
 */
export function watchPage(c) {
  const { reg, doc, el, ui } = c;
  if (typeof ResizeObserver === "function") {
    let lastW = 0;
    const ro = reg.observer(new ResizeObserver(() => {
      const w = ui.stage.clientWidth;
      if (w && Math.abs(w - lastW) > 4) { lastW = w; c.draw.drawBase(); }
    }));
    ro.observe(ui.stage);
  }
  const mq = typeof matchMedia === "function" ? matchMedia("(prefers-color-scheme: dark)") : null;
  reg.dom(mq, "change", c.redrawAll);
  // JupyterLab switches themes by swapping CSS variables and these body attributes;
  // canvas colours are read at draw time, so redraw when they change.
  if (typeof MutationObserver === "function" && doc.body) {
    reg.observer(new MutationObserver(() => reg.timeout("theme", c.redrawAll, 50)))
      .observe(doc.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  }
  // ipywidgets toggles "jupyter-widgets-disconnected" on the view when the comm dies or
  // comes back; watch the view and its ancestors.
  if (typeof MutationObserver === "function") {
    const connObs = reg.observer(new MutationObserver(() => c.updateBusy()));
    for (let n = el; n && n !== doc.body; n = n.parentElement) {
      connObs.observe(n, { attributes: true, attributeFilter: ["class"] });
    }
  }
  // The view may be attached to the page (and marked disconnected) after render returns,
  // so the ancestors above cannot all be watched yet: also check now and then.
  let wasOffline = c.offline();
  reg.interval(() => {
    if (c.offline() !== wasOffline) {
      wasOffline = c.offline();
      c.updateBusy();
    }
  }, 1000);
  reg.timeout("first-status", c.updateBusy, 0);
}
