// people.js: avatars as web/templatetags/chat_ui.py draws them (tests/unit/test_chat_ui.py
// checks the Python side against the same values).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { AVATAR_COLOURS, avatarColour, initials, shownName } from "../../static/js/people.js";

const SAME_AS_SERVER = [
  ["1", 1],
  ["2", 2],
  ["42", 6],
  ["123456", 5],
  ["Bob Baker", 7],
  ["Zoë", 6],
];

describe("avatarColour", () => {
  it("gives the colour the server gives", () => {
    for (const [id, colour] of SAME_AS_SERVER) assert.equal(avatarColour(id), colour, id);
  });

  it("is fixed per user and always one of the palette", () => {
    for (let id = 0; id < 500; id += 1) {
      const colour = avatarColour(id);
      assert.ok(colour >= 0 && colour < AVATAR_COLOURS);
      assert.equal(avatarColour(String(id)), colour);
    }
  });
});

describe("initials", () => {
  it("takes the first letters of two words, or two of one", () => {
    assert.equal(initials("Alice Archer"), "AA");
    assert.equal(initials("bob"), "BO");
    assert.equal(initials("mo_derator"), "MD");
    assert.equal(initials("a.b.c"), "AB");
    assert.equal(initials("Zoë Ünal"), "ZÜ");
  });

  it("never comes out empty and never splits a character", () => {
    assert.equal(initials("  "), "?");
    assert.equal(initials("😀x"), "😀X");
  });

  it("names a user by display name, else username", () => {
    assert.equal(shownName({ username: "bob", display_name: "Bob B" }), "Bob B");
    assert.equal(shownName({ username: "bob", display_name: "" }), "bob");
    assert.equal(shownName(null), "");
  });
});
