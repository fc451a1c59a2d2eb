// Keeping one channel complete. Every event carries its channel's seq; the page remembers the
// last contiguous seq it has seen. On (re)connect it subscribes with since_seq and the server
// replays what was missed, a bounded page at a time (`has_more`, `replayed_to`); a gap in seq,
// or a pong naming a later seq, triggers the same re-subscribe. No DOM here.

/** Per-channel seq bookkeeping: contiguous lastSeq, seqs seen ahead of it, resync state. */
export class SeqTracker {
  constructor(lastSeq) {
    this.lastSeq = lastSeq;
    this.ahead = new Set();
    this.syncing = false;
  }

  /** Record a seq; returns true when a gap before it is now known. */
  see(seq) {
    if (seq <= this.lastSeq) return false;
    this.ahead.add(seq);
    this.advance();
    return this.ahead.size > 0;
  }

  advance() {
    while (this.ahead.has(this.lastSeq + 1)) {
      this.ahead.delete(this.lastSeq + 1);
      this.lastSeq += 1;
    }
    for (const seq of this.ahead) if (seq <= this.lastSeq) this.ahead.delete(seq);
  }

  /** The server replayed everything up to lastSeq. */
  caughtUp(lastSeq) {
    this.syncing = false;
    if (lastSeq > this.lastSeq) this.lastSeq = lastSeq;
    this.advance();
    return this.ahead.size > 0;
  }
}

/** The subscribe side of one channel: `send` puts a frame on the socket (false when closed). */
export class ChannelSync {
  constructor({ channelId, lastSeq, send, onBusy }) {
    this.channelId = channelId;
    this.seq = new SeqTracker(lastSeq);
    this.send = send;
    this.onBusy = onBusy;
  }

  get lastSeq() {
    return this.seq.lastSeq;
  }

  subscribe() {
    this.seq.syncing = this.send({
      type: "subscribe",
      channel_id: this.channelId,
      since_seq: this.seq.lastSeq,
    });
    this.onBusy(this.seq.syncing);
  }

  pingFrame() {
    return { type: "ping", channels: [this.channelId] };
  }

  /** An event's seq; false when it has none. A gap it reveals starts a catch-up. */
  noteSeq(seq) {
    const number = Number(seq);
    if (!Number.isFinite(number)) return false;
    if (this.seq.see(number) && !this.seq.syncing) this.subscribe();
    return true;
  }

  /** The answer to a subscribe: page on, ask again for a gap left open, or be done. */
  subscribed(event) {
    if (event.has_more) {
      // The server replays a bounded number of changes at a time: page on.
      this.seq.caughtUp(Number(event.replayed_to));
      this.subscribe();
      return;
    }
    // Still a gap after the replay (a live event overtook it): ask again.
    if (this.seq.caughtUp(Number(event.last_seq))) this.subscribe();
    else this.onBusy(false);
  }

  /** A pong's last seq above ours: the last event(s) got lost on the way. Catch up. */
  pong(channels) {
    if (!channels || this.seq.syncing) return;
    const serverSeq = Number(channels[this.channelId]);
    if (Number.isFinite(serverSeq) && serverSeq > this.seq.lastSeq) this.subscribe();
  }

  /** The server refused the subscribe (an `error` with ref "subscribe"). */
  refused() {
    if (!this.seq.syncing) return;
    this.seq.syncing = false;
    this.onBusy(false);
  }
}
