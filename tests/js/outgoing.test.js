// outgoing.js: client ids and the composer's length rule (docs/web.md).
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import {
  codePoints,
  composerError,
  isFinalRefusal,
  newClientId,
} from "../../static/js/outgoing.js";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("codePoints and composerError", () => {
  it("counts an emoji once, as the server does", () => {
    assert.equal(codePoints("a😀b"), 3);
    assert.equal("a😀b".length, 4);
  });

  it("refuses empty text and text over the limit, and lets the limit itself pass", () => {
    assert.deepEqual(composerError("  \n", 10), { text: "Type a message first.", reason: "empty" });
    assert.equal(composerError("😀".repeat(10), 10).text, "");
    assert.deepEqual(composerError("x".repeat(11), 10), {
      text: "The message is 11 characters long; the limit is 10.",
      reason: "length",
    });
  });
});

describe("newClientId", () => {
  const randomUUID = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(crypto), "randomUUID");
  afterEach(() => Object.defineProperty(Object.getPrototypeOf(crypto), "randomUUID", randomUUID));

  it("uses crypto.randomUUID when there is one", () => {
    assert.match(newClientId(), UUID_V4);
  });

  it("makes its own v4 ids without crypto.randomUUID (no secure context)", () => {
    delete Object.getPrototypeOf(crypto).randomUUID;
    assert.equal(typeof crypto.randomUUID, "undefined");
    const ids = new Set(Array.from({ length: 50 }, newClientId));
    assert.equal(ids.size, 50);
    for (const id of ids) assert.match(id, UUID_V4);
  });
});

describe("isFinalRefusal", () => {
  it("gives up on 4xx but 429, and offers Retry for the rest", () => {
    assert.equal(isFinalRefusal(400), true);
    assert.equal(isFinalRefusal(403), true);
    assert.equal(isFinalRefusal(429), false);
    assert.equal(isFinalRefusal(503), false);
    assert.equal(isFinalRefusal(undefined), false);
  });
});
