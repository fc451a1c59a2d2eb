// push-settings.js: the VAPID key as PushManager wants it, and when push can be offered.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { keyBytes, pushSupported } from "../../static/js/push-settings.js";

describe("keyBytes", () => {
  it("decodes base64url without padding, '-' and '_' included", () => {
    assert.deepEqual([...keyBytes("-_8")], [0xfb, 0xff]);
    assert.deepEqual([...keyBytes("AQID")], [1, 2, 3]);
  });

  it("gives the 65 bytes of an uncompressed P-256 key", () => {
    const key = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
    const bytes = keyBytes(key);
    assert.equal(bytes.length, 65);
    assert.equal(bytes[0], 4);
  });
});

describe("pushSupported", () => {
  it("needs a service worker, PushManager and Notification", () => {
    const full = { navigator: { serviceWorker: {} }, PushManager: {}, Notification: {} };
    assert.equal(pushSupported(full), true);
    const { PushManager, ...noPush } = full;
    assert.equal(pushSupported(noPush), false);
    assert.equal(pushSupported({ Notification: {}, PushManager: {} }), false);
  });
});
