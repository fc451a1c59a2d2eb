// sync.js: seq tracking, gaps, paging through capped replays, pongs (docs/web.md).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ChannelSync, SeqTracker } from "../../static/js/sync.js";

/** A ChannelSync on a fake socket: `sent` holds the frames, `open` says whether send works. */
function channelSync(lastSeq = 0) {
  const state = { sent: [], busy: [], open: true };
  state.sync = new ChannelSync({
    channelId: "c1",
    lastSeq,
    send: (frame) => state.open && state.sent.push(frame) > 0,
    onBusy: (on) => state.busy.push(on),
  });
  return state;
}

describe("SeqTracker", () => {
  it("advances over contiguous seqs and ignores old ones", () => {
    const seq = new SeqTracker(3);
    assert.equal(seq.see(4), false);
    assert.equal(seq.see(2), false);
    assert.equal(seq.see(4), false);
    assert.equal(seq.lastSeq, 4);
  });

  it("reports a gap and closes it when the missing seq arrives", () => {
    const seq = new SeqTracker(1);
    assert.equal(seq.see(3), true);
    assert.equal(seq.lastSeq, 1);
    assert.equal(seq.see(2), false);
    assert.equal(seq.lastSeq, 3);
  });

  it("caughtUp jumps to the server's seq and keeps seqs seen beyond it", () => {
    const seq = new SeqTracker(1);
    seq.see(9);
    seq.syncing = true;
    assert.equal(seq.caughtUp(7), true);
    assert.equal(seq.syncing, false);
    assert.equal(seq.lastSeq, 7);
    assert.equal(seq.caughtUp(8), false);
    assert.equal(seq.lastSeq, 9);
  });
});

describe("ChannelSync", () => {
  it("subscribes with since_seq and marks the log busy until the replay ends", () => {
    const state = channelSync(5);
    state.sync.subscribe();
    assert.deepEqual(state.sent, [{ type: "subscribe", channel_id: "c1", since_seq: 5 }]);
    assert.equal(state.sync.seq.syncing, true);
    state.sync.subscribed({ type: "subscribed", channel_id: "c1", last_seq: 8 });
    assert.equal(state.sync.lastSeq, 8);
    assert.deepEqual(state.busy, [true, false]);
    assert.equal(state.sent.length, 1);
  });

  it("pages through a capped replay from replayed_to until has_more is false", () => {
    const state = channelSync(0);
    state.sync.subscribe();
    state.sync.subscribed({ has_more: true, replayed_to: 500, last_seq: 1200 });
    state.sync.subscribed({ has_more: true, replayed_to: 1000, last_seq: 1200 });
    state.sync.subscribed({ has_more: false, last_seq: 1200 });
    assert.deepEqual(
      state.sent.map((frame) => frame.since_seq),
      [0, 500, 1000],
    );
    assert.equal(state.sync.lastSeq, 1200);
    assert.equal(state.busy.at(-1), false);
    assert.equal(state.sync.seq.syncing, false);
  });

  it("asks again when a live event overtook the replay and left a gap", () => {
    const state = channelSync(0);
    state.sync.subscribe();
    state.sync.noteSeq(12);
    state.sync.subscribed({ has_more: false, last_seq: 10 });
    assert.deepEqual(
      state.sent.map((frame) => frame.since_seq),
      [0, 10],
    );
    assert.equal(state.busy.at(-1), true);
  });

  it("resubscribes on a gap only when no catch-up is running", () => {
    const state = channelSync(1);
    assert.equal(state.sync.noteSeq(2), true);
    assert.equal(state.sent.length, 0);
    state.sync.noteSeq(4);
    assert.deepEqual(state.sent, [{ type: "subscribe", channel_id: "c1", since_seq: 2 }]);
    state.sync.noteSeq(6);
    assert.equal(state.sent.length, 1);
  });

  it("ignores an event without a seq", () => {
    const state = channelSync(1);
    assert.equal(state.sync.noteSeq(undefined), false);
    assert.equal(state.sync.lastSeq, 1);
  });

  it("catches up when a pong names a later seq, and not while syncing or when equal", () => {
    const state = channelSync(4);
    state.sync.pong({ c1: 4, other: 99 });
    assert.equal(state.sent.length, 0);
    state.sync.pong({ c1: 6 });
    assert.equal(state.sent.length, 1);
    state.sync.pong({ c1: 7 });
    assert.equal(state.sent.length, 1);
    assert.deepEqual(state.sync.pingFrame(), { type: "ping", channels: ["c1"] });
  });

  it("is not syncing while the socket is closed; a refused subscribe ends the busy state", () => {
    const state = channelSync(3);
    state.open = false;
    state.sync.subscribe();
    assert.equal(state.sync.seq.syncing, false);
    assert.deepEqual(state.busy, [false]);
    state.open = true;
    state.sync.subscribe();
    state.sync.refused();
    assert.equal(state.sync.seq.syncing, false);
    assert.deepEqual(state.busy, [false, true, false]);
  });
});
