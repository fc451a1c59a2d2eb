// panels.js: the right panel shows one section at a time and keeps its toggles in step.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { parseHTML } from "linkedom";

import { Panels } from "../../static/js/panels.js";

const PAGE = `<div class="room">
  <button data-panel-toggle="members" aria-expanded="false">Members</button>
  <button data-panel-toggle="thread" aria-expanded="false">Thread</button>
  <aside class="side-panel">
    <section data-panel="members"><h2>Members</h2></section>
    <section data-panel="thread" hidden><h2>Thread</h2></section>
  </aside>
</div>`;

let root;

function start(wide) {
  const { document, window } = parseHTML(`<!doctype html><html><body>${PAGE}</body></html>`);
  globalThis.document = document;
  globalThis.window = window;
  window.matchMedia = () => ({ matches: wide });
  root = document.querySelector(".room");
  return new Panels(root);
}

const expanded = (name) =>
  root.querySelector(`[data-panel-toggle="${name}"]`).getAttribute("aria-expanded");

describe("Panels", () => {
  beforeEach(() => {
    delete globalThis.window;
  });

  it("opens the members panel on wide screens and nothing on phones", () => {
    start(true);
    assert.equal(root.querySelector(".side-panel").hidden, false);
    assert.equal(expanded("members"), "true");
    start(false);
    assert.equal(root.querySelector(".side-panel").hidden, true);
    assert.equal(expanded("members"), "false");
  });

  it("shows one panel at a time, and a toggle closes its own panel", () => {
    const panels = start(true);
    const thread = panels.show("thread");
    assert.equal(thread.dataset.panel, "thread");
    assert.equal(root.querySelector('[data-panel="members"]').hidden, true);
    assert.deepEqual([expanded("members"), expanded("thread")], ["false", "true"]);
    panels.hide();
    assert.equal(root.querySelector(".side-panel").hidden, true);
    assert.equal(expanded("thread"), "false");
    assert.equal(panels.show("nothing-like-it"), null);
  });
});
