// picker.js: which people are worth suggesting.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { suggestable } from "../../static/js/picker.js";

describe("suggestable", () => {
  const people = [
    { id: 1, username: "alice" },
    { id: "2", username: "bob" },
    { id: 3, username: "carol" },
  ];

  it("leaves out the excluded (you, the chosen, the members) whatever the id's type", () => {
    assert.deepEqual(
      suggestable(people, { exclude: ["1", 2] }).map((user) => user.username),
      ["carol"],
    );
  });

  it("keeps everyone when nothing is excluded, in the server's order", () => {
    assert.deepEqual(suggestable(people).map((user) => user.id), [1, "2", 3]);
  });
});
