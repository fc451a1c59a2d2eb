// connection.js: back-off, close codes and heartbeat interval (docs/web.md).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  BACKOFF_FIRST_MS,
  BACKOFF_MAX_MS,
  finalCloseText,
  heartbeatMs,
  reconnectDelay,
} from "../../static/js/connection.js";

describe("reconnectDelay", () => {
  it("doubles from 0.5 s up to 30 s, between half the ceiling and the ceiling", () => {
    const low = (attempts) => reconnectDelay(attempts, () => 0);
    const high = (attempts) => reconnectDelay(attempts, () => 1);
    assert.equal(BACKOFF_FIRST_MS, 500);
    assert.deepEqual([0, 1, 2, 3].map(high), [500, 1000, 2000, 4000]);
    assert.deepEqual([0, 1, 2, 3].map(low), [250, 500, 1000, 2000]);
    assert.equal(high(6), BACKOFF_MAX_MS);
    assert.equal(high(40), 30000);
    assert.equal(low(40), 15000);
  });

  it("spreads reconnects with jitter", () => {
    const delays = new Set(Array.from({ length: 20 }, () => reconnectDelay(5)));
    assert.ok(delays.size > 1);
    for (const delay of delays) assert.ok(delay >= 8000 && delay <= 16000);
  });
});

describe("finalCloseText", () => {
  it("stops for good on an ended session, a deactivated account and too many sockets", () => {
    assert.match(finalCloseText(4401), /session has ended/);
    assert.match(finalCloseText(4403), /session has ended/);
    assert.match(finalCloseText(4408), /too many open tabs/);
  });

  it("lets every other close reconnect", () => {
    for (const code of [1000, 1001, 1006, 1011, 4000, 4429, 4503]) {
      assert.equal(finalCloseText(code), null);
    }
  });
});

describe("heartbeatMs", () => {
  it("follows the server's heartbeat, 30 s when unknown, never under 5 s", () => {
    assert.equal(heartbeatMs(25), 25000);
    assert.equal(heartbeatMs(Number(undefined)), 30000);
    assert.equal(heartbeatMs(1), 5000);
  });
});
