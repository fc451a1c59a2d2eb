// switcher.js: which conversation Alt+Up/Down and Ctrl+K lead to.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { matches, neighbour } from "../../static/js/switcher.js";

describe("neighbour", () => {
  const links = ["a", "b", "c"];

  it("moves up and down and wraps around", () => {
    assert.equal(neighbour(links, "b", 1), "c");
    assert.equal(neighbour(links, "b", -1), "a");
    assert.equal(neighbour(links, "c", 1), "a");
    assert.equal(neighbour(links, "a", -1), "c");
  });

  it("starts at an end when no conversation is open, and copes with none", () => {
    assert.equal(neighbour(links, null, 1), "a");
    assert.equal(neighbour(links, null, -1), "c");
    assert.equal(neighbour([], null, 1), null);
  });
});

describe("matches", () => {
  const names = ["general", "random", "Alice Archer", "engineering"];

  it("lists names that start with the query first, then those containing it", () => {
    assert.deepEqual(matches(names, "en"), [3, 0]);
    assert.deepEqual(matches(names, "#RAN"), [1]);
    assert.deepEqual(matches(names, "archer"), [2]);
  });

  it("lists everything for an empty query and nothing for a miss", () => {
    assert.deepEqual(matches(names, "  "), [0, 1, 2, 3]);
    assert.deepEqual(matches(names, "zzz"), []);
  });
});
