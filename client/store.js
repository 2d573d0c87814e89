// Holds the current state, runs frames through state.apply, and tells views
// once per animation frame (a burst of 200 reactions repaints once, not 200 times).

import { apply, initialState } from './state.js';

export function createStore(state = initialState()) {
  const listeners = new Set();
  let scheduled = false;
  let prev = state;

  const flush = () => {
    scheduled = false;
    const before = prev;
    prev = state;
    for (const fn of listeners) fn(state, before);
  };

  return {
    get: () => state,
    dispatch(frame) {
      const next = apply(state, frame, Date.now());
      if (next === state) return;
      state = next;
      if (!scheduled) {
        scheduled = true;
        (typeof requestAnimationFrame === 'function' && !document.hidden ? requestAnimationFrame : setTimeout)(flush);
      }
    },
    subscribe(fn) { listeners.add(fn); return () => listeners.delete(fn); },
    /** Render now (after a view needs the DOM up to date, e.g. before scrolling to a message). */
    flushNow() { if (scheduled) flush(); },
  };
}
