// The room view: the log, the composer, edit/delete, older pages, typing, presence and the
// read marker. Writes: a message goes over the WebSocket (`message.send`) when it is open, and
// through POST /api/chat/messages otherwise or when no ack comes in time. Both carry the same
// client_id, so a retry never doubles a message. Edits, deletes, older pages and the read
// marker use the REST API (the WebSocket protocol has no frames for them).

import { API, api } from "./api.js";
import { Connection } from "./connection.js";
import { openEditor } from "./editor.js";
import { codePoints, composerError, isFinalRefusal, newClientId } from "./outgoing.js";
import { element, hiddenText, localizeTimes, renderMessage, renderPending } from "./render.js";
import { ChannelSync } from "./sync.js";

const TYPING_EVERY_MS = 3000;
const TYPING_SHOWN_MS = 5000;
const ACK_TIMEOUT_MS = 8000;

export class Room {
  constructor(root, template) {
    this.root = root;
    this.template = template;
    this.channelId = root.dataset.channelId;
    this.userId = root.dataset.userId;
    this.userName = root.dataset.userName;
    this.maxLength = Number(root.dataset.maxLength) || 4000;
    this.log = document.getElementById("message-log");
    // aria-busy while the log is being filled (catch-up, older pages): screen readers
    // announce the result once, and the log reads as settled only when it is complete.
    this.busy = new Set();
    this.setBusy("sync", true);
    this.sync = new ChannelSync({
      channelId: this.channelId,
      lastSeq: Number(root.dataset.lastSeq) || 0,
      send: (frame) => this.connection.send(frame),
      onBusy: (on) => this.setBusy("sync", on),
    });
    this.readSent = this.sync.lastSeq;
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
      pingFrame: () => this.sync.pingFrame(),
    });
    this.bindComposer();
    this.bindLog();
    this.bindLoadOlder();
    localizeTimes(this.log);
    this.collapseMembersOnPhones();
    this.scrollToStart();
    document.addEventListener("visibilitychange", () => this.scheduleRead());
    window.addEventListener("focus", () => this.scheduleRead());
    this.connection.connect();
  }

  // --- connection

  showState(state, text) {
    this.status.dataset.state = state;
    this.status.querySelector(".connection-text").textContent = text;
  }

  /** After every welcome: catch up from the last seq seen, then resend unacked messages. */
  resume() {
    this.sync.subscribe();
    for (const item of this.pending.values()) {
      // Unsent for want of a connection: try again now; refused ones wait for the person.
      if (!item.failed || item.retryable) this.deliver(item);
    }
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
        if (event.channel_id === this.channelId) this.sync.subscribed(event);
        break;
      case "pong":
        this.sync.pong(event.channels);
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

  noteSeq(seq) {
    if (this.sync.noteSeq(seq)) this.scheduleRead();
  }

  handleError(event) {
    const item = event.ref ? this.pending.get(event.ref) : undefined;
    if (item) {
      const retryable = event.code === "rate_limited" || event.code === "unavailable";
      this.fail(item, event.detail || "Not sent.", retryable);
    } else if (event.ref === "subscribe") {
      this.sync.refused();
    }
  }

  // --- the log

  render(message) {
    return renderMessage(this.template, message, this.userId);
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
    this.place(this.render(message));
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

  collapseMembersOnPhones() {
    const details = this.root.querySelector(".members-details");
    if (details && window.matchMedia("(max-width: 47.99rem)").matches) details.open = false;
  }

  // --- composer

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
    const refusal = composerError(content, this.maxLength);
    if (refusal.text) {
      this.setComposerError(refusal.text, refusal.reason);
      return;
    }
    this.setComposerError("");
    const item = { clientId: newClientId(), content, failed: false, timer: null };
    item.node = renderPending(this.template, { ...item, userName: this.userName });
    item.status = item.node.querySelector(".message-status");
    this.pending.set(item.clientId, item);
    this.log.append(item.node);
    this.scrollToBottom();
    this.input.value = "";
    this.updateCounter();
    this.lastTypingSent = 0;
    this.deliver(item);
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
      const final = isFinalRefusal(error.status);
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
    if (!document.getElementById(`m-${message.id}`)) this.place(this.render(message));
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
      if (retryable) actions.append(actionButton("retry", "Retry", " sending"));
      actions.append(actionButton("discard", "Discard", " unsent message"));
      item.node.append(actions);
    }
    this.setComposerError(`Your message was not sent: ${detail}`, "send");
  }

  // --- edit, delete, retry (event delegation on the log)

  bindLog() {
    this.log.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button || !this.log.contains(button)) return;
      const node = button.closest(".message");
      const action = button.dataset.action;
      if (action === "edit") this.edit(node);
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

  edit(node) {
    openEditor(node, {
      maxLength: this.maxLength,
      save: async (content, close) => {
        const message = await api("PATCH", `${API}/messages/${node.dataset.id}`, { content });
        close();
        this.applyMessage(message);
      },
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

  // --- history

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
          if (!document.getElementById(`m-${message.id}`)) fragment.append(this.render(message));
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

  // --- typing, presence, read marker

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
    if (document.visibilityState !== "visible" || this.sync.lastSeq <= this.readSent) return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(async () => {
      const seq = this.sync.lastSeq;
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

function actionButton(action, label, hidden) {
  const button = element("button", "button button-small", label);
  button.type = "button";
  button.dataset.action = action;
  button.append(hiddenText(hidden));
  return button;
}
