// search-box.js: "/" focuses the header's search box, except while typing elsewhere.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseHTML } from "linkedom";

import { bindSearchShortcut } from "../../static/js/search-box.js";

function page() {
  const { document, window } = parseHTML(`<html><body>
    <input data-search-box id="box"><textarea id="composer"></textarea><p id="text">x</p>
  </body></html>`);
  let focused = null;
  for (const node of document.querySelectorAll("input, textarea")) {
    node.focus = () => {
      focused = node.id;
    };
    node.select = () => {};
  }
  bindSearchShortcut(document);
  const press = (target, key, extra = {}) => {
    const event = new window.Event("keydown", { bubbles: true, cancelable: true });
    Object.assign(event, { key, ctrlKey: false, metaKey: false, altKey: false, ...extra });
    target.dispatchEvent(event);
    return event;
  };
  return { document, press, focused: () => focused };
}

describe("bindSearchShortcut", () => {
  it("focuses the box on / from the page and keeps the slash out of it", () => {
    const { document, press, focused } = page();
    const event = press(document.getElementById("text"), "/");
    assert.equal(focused(), "box");
    assert.equal(event.defaultPrevented, true);
  });

  it("leaves / alone in a text field, with modifiers, and other keys", () => {
    const { document, press, focused } = page();
    assert.equal(press(document.getElementById("composer"), "/").defaultPrevented, false);
    press(document.getElementById("text"), "/", { ctrlKey: true });
    press(document.getElementById("text"), "k");
    assert.equal(focused(), null);
  });

  it("does nothing on a page without the box", () => {
    const { document } = parseHTML("<html><body></body></html>");
    assert.doesNotThrow(() => bindSearchShortcut(document));
  });
});
