// chatsite live pages: the room and the channel list. One module, no build step.
//
// Writes: a message goes over the WebSocket (`message.send`) when it is open, and through
// POST /api/chat/messages otherwise or when no ack comes in time. Both carry the same
// client_id, so a retry never doubles a message. Edits, deletes, older pages and the read
// marker use the REST API (the WebSocket protocol has no frames for them).
//
// Reads: every event carries its channel's seq. The page remembers the last seq it has
// seen per channel; on (re)connect it subscribes with since_seq and the server replays the
// changes it missed; a gap in seq triggers the same re-subscribe.

const WS_PATH = "/ws/chat/";
const API = "/api/chat";
const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;
const ACK_TIMEOUT_MS = 8000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30000;

const timeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** Call the REST API with the session cookie and CSRF token; throws with .status on 4xx/5xx. */
async function api(method, path, body) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const detail = data && data.error ? data.error.detail : `Request failed (${response.status}).`;
    const error = new Error(detail);
    error.status = response.status;
    throw error;
  }
  return data;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function hiddenText(text) {
  return element("span", "visually-hidden", text);
}

function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : timeFormat.format(date);
}

/** A random UUID (v4). crypto.randomUUID needs a secure context; plain-HTTP hosts do not. */
function newClientId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Code points, as the server counts them (not UTF-16 units). */
function codePoints(text) {
  return [...text].length;
}

/** One WebSocket with heartbeat and reconnect by exponential back-off with jitter. */
class Connection {
  constructor({ heartbeatSeconds, onEvent, onOpen, onState, pingFrame }) {
    this.heartbeatMs = Math.max(5, heartbeatSeconds || 30) * 1000;
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
      if (closing.code === 4401 || closing.code === 4403) {
        this.stopped = true;
        this.onState("offline", "Disconnected: your session has ended. Reload the page to sign in.");
        return;
      }
      if (closing.code === 4408) {
        this.stopped = true;
        this.onState("offline", "Disconnected: too many open tabs. Close one and reload the page.");
        return;
      }
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    if (this.stopped || this.retryTimer) return;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempts);
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
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

/** Per-channel seq bookkeeping: contiguous lastSeq, seqs seen ahead of it, resync state. */
class SeqTracker {
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

/** The live room: log, composer, edit/delete, typing, presence and catch-up. */
class Room {
  constructor(root) {
    this.root = root;
    this.channelId = root.dataset.channelId;
    this.userId = root.dataset.userId;
    this.userName = root.dataset.userName;
    this.maxLength = Number(root.dataset.maxLength) || 4000;
    this.seq = new SeqTracker(Number(root.dataset.lastSeq) || 0);
    this.readSent = this.seq.lastSeq;
    this.log = document.getElementById("message-log");
    // aria-busy while the log is being filled (catch-up, older pages): screen readers
    // announce the result once, and the log reads as settled only when it is complete.
    this.busy = new Set();
    this.setBusy("sync", true);
    this.form = root.querySelector(".composer");
    this.input = document.getElementById("composer-input");
    this.counter = document.getElementById("composer-counter");
    this.composerError = document.getElementById("composer-error");
    this.typingLine = document.getElementById("typing-indicator");
    this.status = document.getElementById("connection-status");
    this.pending = new Map();
    this.typers = new Map();
    this.lastTypingSent = 0;
    this.readTimer = null;

    this.connection = new Connection({
      heartbeatSeconds: Number(root.dataset.heartbeat),
      onEvent: (event) => this.handle(event),
      onOpen: () => this.resume(),
      onState: (state, text) => this.showState(state, text),
      pingFrame: () => ({ type: "ping", channels: [this.channelId] }),
    });
    this.bindComposer();
    this.bindLog();
    this.bindLoadOlder();
    this.localizeTimes(this.log);
    this.collapseMembersOnPhones();
    this.scrollToStart();
    document.addEventListener("visibilitychange", () => this.scheduleRead());
    window.addEventListener("focus", () => this.scheduleRead());
    this.connection.connect();
  }

  // --- connection -----------------------------------------------------------------

  showState(state, text) {
    this.status.dataset.state = state;
    this.status.querySelector(".connection-text").textContent = text;
  }

  /** After every welcome: catch up from the last seq seen, then resend unacked messages. */
  resume() {
    this.subscribe();
    for (const item of this.pending.values()) {
      // Unsent for want of a connection: try again now; refused ones wait for the person.
      if (!item.failed || item.retryable) this.deliver(item);
    }
  }

  subscribe() {
    this.seq.syncing = this.connection.send({
      type: "subscribe",
      channel_id: this.channelId,
      since_seq: this.seq.lastSeq,
    });
    this.setBusy("sync", this.seq.syncing);
  }

  setBusy(reason, on) {
    if (on) this.busy.add(reason);
    else this.busy.delete(reason);
    this.log.setAttribute("aria-busy", String(this.busy.size > 0));
  }

  handle(event) {
    switch (event.type) {
      case "message.created":
      case "message.updated":
        if (event.message && event.message.channel_id === this.channelId) {
          this.applyMessage(event.message);
          this.noteSeq(event.seq);
        }
        break;
      case "message.deleted":
        if (event.channel_id === this.channelId) {
          this.removeMessage(event.id);
          this.noteSeq(event.seq);
        }
        break;
      case "subscribed":
        if (event.channel_id !== this.channelId) break;
        if (event.has_more) {
          // The server replays a bounded number of changes at a time: page on.
          this.seq.caughtUp(Number(event.replayed_to));
          this.subscribe();
          break;
        }
        // Still a gap after the replay (a live event overtook it): ask again.
        if (this.seq.caughtUp(Number(event.last_seq))) this.subscribe();
        else this.setBusy("sync", false);
        break;
      case "pong":
        this.checkLastSeq(event.channels);
        break;
      case "ack":
        this.confirm(event.client_id, event.message);
        break;
      case "error":
        this.handleError(event);
        break;
      case "typing":
        if (event.channel_id === this.channelId) this.showTyping(event.user);
        break;
      case "presence":
        this.showPresence(String(event.user_id), event.status);
        break;
      default:
        break;
    }
  }

  /** A pong's last seq above ours: the last event(s) got lost on the way. Catch up. */
  checkLastSeq(channels) {
    if (!channels || this.seq.syncing) return;
    const serverSeq = Number(channels[this.channelId]);
    if (Number.isFinite(serverSeq) && serverSeq > this.seq.lastSeq) this.subscribe();
  }

  noteSeq(seq) {
    const number = Number(seq);
    if (!Number.isFinite(number)) return;
    if (this.seq.see(number) && !this.seq.syncing) this.subscribe();
    this.scheduleRead();
  }

  handleError(event) {
    const item = event.ref ? this.pending.get(event.ref) : undefined;
    if (item) {
      const retryable = event.code === "rate_limited" || event.code === "unavailable";
      this.fail(item, event.detail || "Not sent.", retryable);
    } else if (event.ref === "subscribe" && this.seq.syncing) {
      this.seq.syncing = false;
      this.setBusy("sync", false);
    }
  }

  // --- rendering ------------------------------------------------------------------

  renderMessage(message) {
    const own = String(message.user_id) === this.userId;
    const article = element("article", own ? "message message-own" : "message");
    article.id = `m-${message.id}`;
    article.dataset.id = message.id;
    article.dataset.seq = message.seq;
    article.dataset.changeSeq = message.change_seq;
    article.dataset.userId = message.user_id;
    const meta = element("header", "message-meta");
    const author = message.author || {};
    meta.append(element("span", "message-author", author.display_name || author.username || ""));
    meta.append(" ");
    const time = element("time", "message-time", formatTime(message.created_at));
    time.dateTime = message.created_at;
    meta.append(time, " ");
    const edited = element("span", "message-edited", "(edited)");
    edited.hidden = !message.edited_at;
    meta.append(edited);
    article.append(meta, element("div", "message-body", message.content));
    if (own) article.append(this.ownActions());
    return article;
  }

  ownActions() {
    const actions = element("div", "message-actions");
    for (const [action, label] of [
      ["edit", "Edit"],
      ["delete", "Delete"],
    ]) {
      const button = element("button", "button button-small", label);
      button.type = "button";
      button.dataset.action = action;
      button.append(hiddenText(" your message"));
      actions.append(button);
    }
    return actions;
  }

  nearBottom() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
  }

  scrollToBottom() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  scrollToStart() {
    const divider = document.getElementById("unread-divider");
    if (divider) divider.scrollIntoView({ block: "center" });
    else this.scrollToBottom();
  }

  /** Insert in seq order; new messages land at the end, where role="log" expects them. */
  place(node) {
    const seq = Number(node.dataset.seq);
    const empty = this.log.querySelector("[data-log-empty]");
    if (empty) empty.remove();
    const firstPending = this.log.querySelector(".message-pending");
    let before = firstPending;
    const rendered = this.log.querySelectorAll(".message:not(.message-pending)");
    for (let index = rendered.length - 1; index >= 0; index -= 1) {
      if (Number(rendered[index].dataset.seq) < seq) break;
      before = rendered[index];
    }
    this.log.insertBefore(node, before);
  }

  /** A created or updated message, from an event, an ack or a REST reply. Idempotent. */
  applyMessage(message) {
    if (message.deleted) {
      this.removeMessage(message.id);
      return;
    }
    const existing = document.getElementById(`m-${message.id}`);
    if (existing) {
      if (Number(existing.dataset.changeSeq) >= Number(message.change_seq)) return;
      existing.dataset.changeSeq = message.change_seq;
      existing.querySelector(".message-body").textContent = message.content;
      existing.querySelector(".message-edited").hidden = !message.edited_at;
      return;
    }
    if (message.client_id && this.pending.has(message.client_id)) {
      this.confirm(message.client_id, message);
      return;
    }
    if (this.beforeLoadedHistory(message)) return;
    const follow = this.nearBottom();
    this.place(this.renderMessage(message));
    this.typers.delete(String(message.user_id));
    this.renderTyping();
    if (follow) this.scrollToBottom();
  }

  /** True for a message older than the oldest one shown while older pages are not loaded. */
  beforeLoadedHistory(message) {
    if (!this.root.querySelector("[data-load-older]")) return false;
    const oldest = this.log.querySelector(".message[data-seq]:not(.message-pending)");
    return oldest !== null && Number(message.seq) < Number(oldest.dataset.seq);
  }

  removeMessage(id) {
    const node = document.getElementById(`m-${id}`);
    if (!node) return;
    const hadFocus = node.contains(document.activeElement);
    node.remove();
    if (hadFocus) this.log.focus();
  }

  localizeTimes(container) {
    for (const time of container.querySelectorAll("time[datetime]")) {
      const text = formatTime(time.dateTime);
      if (text) time.textContent = text;
    }
  }

  collapseMembersOnPhones() {
    const details = this.root.querySelector(".members-details");
    if (details && window.matchMedia("(max-width: 47.99rem)").matches) details.open = false;
  }

  // --- composer -------------------------------------------------------------------

  bindComposer() {
    if (!this.form) return;
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => {
      this.updateCounter();
      this.sendTyping();
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.updateCounter();
  }

  updateCounter() {
    const length = codePoints(this.input.value);
    this.counter.textContent = `${length}/${this.maxLength}`;
    this.counter.dataset.over = String(length > this.maxLength);
    const lines = this.input.value.split("\n").length;
    this.input.rows = Math.min(6, Math.max(1, lines));
    if (length <= this.maxLength && this.composerError.dataset.reason === "length") {
      this.setComposerError("");
    }
  }

  setComposerError(text, reason = "") {
    this.composerError.textContent = text;
    this.composerError.dataset.reason = reason;
    if (text) this.input.setAttribute("aria-invalid", "true");
    else this.input.removeAttribute("aria-invalid");
  }

  sendTyping() {
    const now = Date.now();
    if (!this.input.value.trim() || now - this.lastTypingSent < TYPING_EVERY_MS) return;
    if (this.connection.send({ type: "typing", channel_id: this.channelId })) {
      this.lastTypingSent = now;
    }
  }

  submit() {
    const content = this.input.value;
    const length = codePoints(content);
    if (!content.trim()) {
      this.setComposerError("Type a message first.", "empty");
      return;
    }
    if (length > this.maxLength) {
      this.setComposerError(
        `The message is ${length} characters long; the limit is ${this.maxLength}.`,
        "length",
      );
      return;
    }
    this.setComposerError("");
    const item = { clientId: newClientId(), content, failed: false, timer: null };
    item.node = this.renderPending(item);
    this.pending.set(item.clientId, item);
    this.log.append(item.node);
    this.scrollToBottom();
    this.input.value = "";
    this.updateCounter();
    this.lastTypingSent = 0;
    this.deliver(item);
  }

  renderPending(item) {
    const article = element("article", "message message-own message-pending");
    article.dataset.clientId = item.clientId;
    const meta = element("header", "message-meta");
    meta.append(element("span", "message-author", this.userName), " ");
    item.status = element("span", "message-status", "Sending…");
    meta.append(item.status);
    article.append(meta, element("div", "message-body", item.content));
    return article;
  }

  deliver(item) {
    clearTimeout(item.timer);
    item.failed = false;
    item.retryable = false;
    item.node.classList.remove("message-failed");
    const actions = item.node.querySelector(".message-actions");
    if (actions) actions.remove();
    item.status.textContent = "Sending…";
    const frame = {
      type: "message.send",
      channel_id: this.channelId,
      content: item.content,
      client_id: item.clientId,
    };
    if (this.connection.send(frame)) {
      item.timer = setTimeout(() => this.deliverByRest(item), ACK_TIMEOUT_MS);
    } else {
      this.deliverByRest(item);
    }
  }

  async deliverByRest(item) {
    if (!this.pending.has(item.clientId)) return;
    try {
      const message = await api("POST", `${API}/messages`, {
        channel_id: this.channelId,
        content: item.content,
        client_id: item.clientId,
      });
      this.confirm(item.clientId, message);
    } catch (error) {
      const final = error.status && error.status >= 400 && error.status < 500 && error.status !== 429;
      this.fail(item, final ? error.message : "Not sent yet: no connection.", !final);
    }
  }

  confirm(clientId, message) {
    const item = this.pending.get(clientId);
    if (!item || !message) return;
    clearTimeout(item.timer);
    this.pending.delete(clientId);
    item.node.remove();
    const follow = this.nearBottom();
    if (!document.getElementById(`m-${message.id}`)) this.place(this.renderMessage(message));
    if (follow) this.scrollToBottom();
    const stillFailing = [...this.pending.values()].some((other) => other.failed);
    if (!stillFailing && this.composerError.dataset.reason === "send") this.setComposerError("");
  }

  fail(item, detail, retryable) {
    clearTimeout(item.timer);
    item.failed = true;
    item.retryable = retryable;
    item.node.classList.add("message-failed");
    item.status.textContent = detail;
    if (!item.node.querySelector("[data-action]")) {
      const actions = element("div", "message-actions");
      if (retryable) {
        const retry = element("button", "button button-small", "Retry");
        retry.type = "button";
        retry.dataset.action = "retry";
        retry.append(hiddenText(" sending"));
        actions.append(retry);
      }
      const discard = element("button", "button button-small", "Discard");
      discard.type = "button";
      discard.dataset.action = "discard";
      discard.append(hiddenText(" unsent message"));
      actions.append(discard);
      item.node.append(actions);
    }
    this.setComposerError(`Your message was not sent: ${detail}`, "send");
  }

  // --- edit, delete, retry (event delegation on the log) ---------------------------

  bindLog() {
    this.log.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button || !this.log.contains(button)) return;
      const node = button.closest(".message");
      const action = button.dataset.action;
      if (action === "edit") this.openEditor(node);
      else if (action === "delete") this.deleteMessage(node);
      else if (action === "retry" || action === "discard") {
        const item = this.pending.get(node.dataset.clientId);
        if (!item) return;
        node.querySelector(".message-actions").remove();
        this.setComposerError("");
        if (action === "retry") {
          this.deliver(item);
          this.input.focus();
        } else {
          this.pending.delete(item.clientId);
          node.remove();
          this.input.focus();
        }
      }
    });
  }

  openEditor(node) {
    const open = node.querySelector(".message-editor textarea");
    if (open) {
      open.focus();
      return;
    }
    const body = node.querySelector(".message-body");
    const actions = node.querySelector(".message-actions");
    const editor = element("form", "message-editor");
    const fieldId = `edit-${node.dataset.id}`;
    const label = element("label", "visually-hidden", "Edit message");
    label.htmlFor = fieldId;
    const field = element("textarea");
    field.id = fieldId;
    field.value = body.textContent;
    field.rows = Math.min(8, Math.max(2, field.value.split("\n").length));
    const error = element("p", "error");
    error.setAttribute("role", "alert");
    const buttons = element("div", "message-actions");
    const save = element("button", "button button-small button-primary", "Save");
    save.type = "submit";
    const cancel = element("button", "button button-small", "Cancel");
    cancel.type = "button";
    buttons.append(save, cancel);
    editor.append(label, field, buttons, error);
    body.hidden = true;
    actions.hidden = true;
    node.append(editor);
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);

    const close = () => {
      editor.remove();
      body.hidden = false;
      actions.hidden = false;
      actions.querySelector('[data-action="edit"]').focus();
    };
    const save_ = async () => {
      const content = field.value;
      if (!content.trim() || codePoints(content) > this.maxLength) {
        error.textContent = content.trim()
          ? `The limit is ${this.maxLength} characters.`
          : "A message cannot be empty. Use Delete to remove it.";
        return;
      }
      if (content === body.textContent) {
        close();
        return;
      }
      save.disabled = true;
      try {
        const message = await api("PATCH", `${API}/messages/${node.dataset.id}`, { content });
        close();
        this.applyMessage(message);
      } catch (failure) {
        error.textContent = failure.message;
        save.disabled = false;
      }
    };
    editor.addEventListener("submit", (event) => {
      event.preventDefault();
      save_();
    });
    cancel.addEventListener("click", close);
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        close();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        save_();
      }
    });
  }

  async deleteMessage(node) {
    if (!window.confirm("Delete this message? This cannot be undone.")) return;
    try {
      await api("DELETE", `${API}/messages/${node.dataset.id}`);
      this.removeMessage(node.dataset.id);
    } catch (failure) {
      this.setComposerError(`Could not delete the message: ${failure.message}`, "delete");
    }
  }

  // --- history ----------------------------------------------------------------------

  bindLoadOlder() {
    const link = this.root.querySelector("[data-load-older]");
    if (!link) return;
    link.addEventListener("click", async (event) => {
      const oldest = this.log.querySelector(".message[data-id]");
      if (!oldest) return;
      event.preventDefault();
      link.setAttribute("aria-disabled", "true");
      try {
        const params = new URLSearchParams({
          channel_id: this.channelId,
          before: oldest.dataset.id,
          limit: "50",
        });
        const page = await api("GET", `${API}/messages?${params}`);
        const height = this.log.scrollHeight;
        this.setBusy("older", true);
        const fragment = document.createDocumentFragment();
        for (const message of page.results) {
          if (!document.getElementById(`m-${message.id}`)) {
            fragment.append(this.renderMessage(message));
          }
        }
        this.log.insertBefore(fragment, this.log.firstChild);
        this.log.scrollTop += this.log.scrollHeight - height;
        this.setBusy("older", false);
        if (page.has_more) {
          const first = this.log.querySelector(".message[data-id]");
          if (first) link.href = `?before=${first.dataset.id}`;
          link.removeAttribute("aria-disabled");
        } else {
          link.remove();
          this.log.focus();
        }
      } catch {
        window.location.assign(link.href);
      }
    });
  }

  // --- typing, presence, read marker -------------------------------------------------

  showTyping(user) {
    if (!user || String(user.id) === this.userId) return;
    this.typers.set(String(user.id), {
      name: user.display_name || user.username,
      until: Date.now() + TYPING_SHOWN_MS,
    });
    this.renderTyping();
    setTimeout(() => this.renderTyping(), TYPING_SHOWN_MS + 50);
  }

  renderTyping() {
    const now = Date.now();
    for (const [id, typer] of this.typers) if (typer.until <= now) this.typers.delete(id);
    const names = [...this.typers.values()].map((typer) => typer.name);
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = "Several people are typing…";
    this.typingLine.textContent = text;
    this.typingLine.hidden = !text;
  }

  showPresence(userId, status) {
    const member = this.root.querySelector(`.member[data-user-id="${CSS.escape(userId)}"]`);
    if (!member) return;
    const online = status === "online";
    member.dataset.presence = online ? "online" : "offline";
    member.querySelector(".presence-text").textContent = online ? "online" : "offline";
  }

  /** Move the read marker when the room is on screen and has news. */
  scheduleRead() {
    if (document.visibilityState !== "visible" || this.seq.lastSeq <= this.readSent) return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(async () => {
      const seq = this.seq.lastSeq;
      if (seq <= this.readSent || document.visibilityState !== "visible") return;
      try {
        await api("POST", `${API}/channels/${this.channelId}/read/`, { seq });
        this.readSent = Math.max(this.readSent, seq);
      } catch {
        // Not a member (a public channel read before joining) or offline: try next time.
      }
    }, 1000);
  }
}

/** The channel list: unread badges that count up live. */
class ChannelList {
  constructor(root) {
    this.userId = root.dataset.userId;
    this.items = new Map();
    for (const item of root.querySelectorAll(".channel-item[data-channel-id]")) {
      this.items.set(item.dataset.channelId, item);
    }
    this.welcomes = 0;
    this.connection = new Connection({
      heartbeatSeconds: 30,
      onEvent: (event) => this.handle(event),
      // Counts may have moved between the page's render and this welcome, or while a
      // reconnect was pending: ask for them again then, and only then.
      onOpen: (welcome) => {
        this.welcomes += 1;
        if (this.welcomes > 1 || this.isBehind(welcome.channels || [])) this.refresh();
      },
      onState: (state) => {
        root.dataset.connection = state;
      },
    });
    this.connection.connect();
  }

  /** Has any channel moved past the seq this page was rendered with? */
  isBehind(channels) {
    return channels.some((channel) => {
      const item = this.items.get(channel.id);
      return item !== undefined && Number(channel.last_seq) > Number(item.dataset.lastSeq);
    });
  }

  async refresh() {
    try {
      const channels = await api("GET", `${API}/channels/`);
      for (const channel of channels.results || channels) {
        const item = this.items.get(channel.id);
        // A live event newer than this answer already counted: keep the live count.
        if (!item || Number(item.dataset.lastSeq) > Number(channel.last_seq)) continue;
        this.setBadge(item, Number(channel.unread_count) || 0, channel.last_seq);
      }
    } catch {
      // The live events still count up; the page shows the rest when reloaded.
    }
  }

  setBadge(item, count, lastSeq) {
    item.dataset.lastSeq = lastSeq;
    const badge = item.querySelector(".badge");
    badge.dataset.unread = String(count);
    badge.textContent = count ? String(count) : "";
    if (count) badge.append(hiddenText(" unread"));
    badge.classList.toggle("badge-empty", !count);
  }

  handle(event) {
    if (event.type !== "message.created" || !event.message) return;
    const message = event.message;
    const item = this.items.get(message.channel_id);
    if (!item || String(message.user_id) === this.userId) return;
    if (Number(item.dataset.lastSeq) >= Number(event.seq)) return;
    const badge = item.querySelector(".badge");
    this.setBadge(item, (Number(badge.dataset.unread) || 0) + 1, event.seq);
  }
}

const root = document.querySelector("[data-chat-page]");
if (root && root.dataset.chatPage === "room") {
  window.chatsiteRoom = new Room(root);
} else if (root && root.dataset.chatPage === "channels") {
  window.chatsiteChannels = new ChannelList(root);
}
