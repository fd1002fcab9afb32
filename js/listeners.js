// One list of every listener, observer and timer a view registers, so removing the view
// tears down exactly what was set up (and nothing is registered twice).

/**
 * @typedef {Object} Registry
 * @property {(target: EventTarget, ev: string, fn: (ev: any) => void, opts?: any) => void} dom
 * @property {(model: any, ev: string, fn: Function) => void} model
 * @property {(obs: {disconnect: () => void}) => any} observer
 * @property {(fn: Function, ms: number) => any} interval
 * @property {(key: string, fn: Function, ms: number) => void} timeout  one pending timer per key
 * @property {(key: string) => void} clear
 * @property {(fn: Function) => void} onTeardown
 * @property {() => number} size
 * @property {() => void} teardown
 */

/** @returns {Registry} */
export function createRegistry() {
  const undo = [];
  const timers = new Map();
  let done = false;
  const add = (fn) => {
    if (done) throw new Error("view already removed");
    undo.push(fn);
  };
  return {
    dom(target, ev, fn, opts) {
      if (!target || !target.addEventListener) return;
      target.addEventListener(ev, fn, opts);
      add(() => target.removeEventListener(ev, fn, opts));
    },
    model(model, ev, fn) {
      model.on(ev, fn);
      add(() => model.off(ev, fn));
    },
    observer(obs) {
      add(() => obs.disconnect());
      return obs;
    },
    interval(fn, ms) {
      const id = setInterval(fn, ms);
      add(() => clearInterval(id));
      return id;
    },
    timeout(key, fn, ms) {
      clearTimeout(timers.get(key));
      timers.set(key, setTimeout(() => { timers.delete(key); fn(); }, ms));
    },
    clear(key) {
      clearTimeout(timers.get(key));
      timers.delete(key);
    },
    onTeardown(fn) {
      add(fn);
    },
    size: () => undo.length,
    teardown() {
      if (done) return;
      done = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      while (undo.length) {
        try {
          undo.pop()();
        } catch (err) { /* keep tearing down the rest */ }
      }
    },
  };
}
