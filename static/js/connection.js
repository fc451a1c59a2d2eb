// One WebSocket with heartbeat and reconnect by exponential back-off with jitter. It knows
// frames, not rooms: the page says what to do on each event and what a ping carries.

// Presence in batches: one event lists several people (docs/api.md, "presence").
const WS_PATH = "/ws/chat/?presence=batch";
export const BACKOFF_FIRST_MS = 500;
export const BACKOFF_MAX_MS = 30000;

/** Close codes a reconnect cannot cure, and what the page says then. */
const SESSION_ENDED = "Disconnected: your session has ended. Reload the page to sign in.";
const FINAL_CLOSES = {
  4401: SESSION_ENDED,
  4403: SESSION_ENDED,
  4408: "Disconnected: too many open tabs. Close one and reload the page.",
};

/** The text to show after a close with this code, or null when reconnecting may help. */
export function finalCloseText(code) {
  return FINAL_CLOSES[code] ?? null;
}

/** The wait before a reconnect after `attempts` failed ones: half the ceiling plus jitter. */
export function reconnectDelay(attempts, random = Math.random) {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempts);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The ping interval: the server's heartbeat (30 s when unknown), never under 5 s. */
export function heartbeatMs(seconds) {
  return Math.max(5, seconds || 30) * 1000;
}

export class Connection {
  constructor({ heartbeatSeconds, onEvent, onOpen, onState, pingFrame }) {
    this.heartbeatMs = heartbeatMs(heartbeatSeconds);
    this.pingFrame = pingFrame || (() => ({ type: "ping" }));
    this.onEvent = onEvent;
    this.onOpen = onOpen;
    this.onState = onState;
    this.socket = null;
    this.attempts = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastHeard = 0;
    this.stopped = false;
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.reconnectNow();
    });
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN && this.welcomed;
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.welcomed = false;
    this.onState("connecting", this.attempts ? "Reconnecting…" : "Connecting…");
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${window.location.host}${WS_PATH}`);
    this.socket = socket;
    socket.addEventListener("message", (message) => {
      if (socket !== this.socket) return;
      this.lastHeard = Date.now();
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event.type === "welcome") {
        this.attempts = 0;
        this.welcomed = true;
        this.onState("online", "Connected");
        this.startHeartbeat();
        this.onOpen(event);
      }
      this.onEvent(event);
    });
    socket.addEventListener("close", (closing) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.welcomed = false;
      clearInterval(this.pingTimer);
      const final = finalCloseText(closing.code);
      if (final) {
        this.stopped = true;
        this.onState("offline", final);
        return;
      }
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    if (this.stopped || this.retryTimer) return;
    const delay = reconnectDelay(this.attempts);
    this.attempts += 1;
    if (!navigator.onLine) {
      this.onState("offline", "Offline. Reconnecting when the network is back…");
    } else {
      const seconds = Math.max(1, Math.round(delay / 1000));
      this.onState("connecting", `Connection lost. Reconnecting in ${seconds} s…`);
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  reconnectNow() {
    if (this.stopped || this.socket) return;
    this.attempts = 0;
    this.connect();
  }

  startHeartbeat() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (!this.socket) return;
      if (Date.now() - this.lastHeard > this.heartbeatMs * 2.5) {
        this.socket.close(4000, "heartbeat timeout");
        return;
      }
      // The ping names the channels followed; the pong's last seqs reveal a lost last event.
      this.send(this.pingFrame());
    }, this.heartbeatMs);
  }

  /** Send a frame; false when the socket is not open (the caller falls back). */
  send(frame) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }
}
