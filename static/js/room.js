// The room view: the log, edit/delete, older pages, typing, presence and the read marker;
// composer.js sends, sync.js keeps the log complete. Edits, deletes, older pages and the read
// marker use the REST API (the WebSocket protocol has no frames for them).

import { API, api } from "./api.js";
import { Connection } from "./connection.js";
import { Composer } from "./composer.js";
import { openEditor } from "./editor.js";
import { localizeTimes, renderMessage } from "./render.js";
import { renderRich } from "./rich.js";
import { ChannelSync } from "./sync.js";
import { RichMessages } from "./thread.js";

const TYPING_SHOWN_MS = 5000;

export class Room {
  constructor(root, template) {
    this.root = root;
    this.template = template;
    this.channelId = root.dataset.channelId;
    this.userId = root.dataset.userId;
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
    this.typingLine = document.getElementById("typing-indicator");
    this.status = document.getElementById("connection-status");
    this.typers = new Map();
    this.readTimer = null;

    this.connection = new Connection({
      heartbeatSeconds: Number(root.dataset.heartbeat),
      onEvent: (event) => this.handle(event),
      onOpen: () => this.resume(),
      onState: (state, text) => this.showState(state, text),
      pingFrame: () => this.sync.pingFrame(),
    });
    this.composer = new Composer({
      form: root.querySelector(".composer"),
      channelId: this.channelId,
      userName: root.dataset.userName,
      maxLength: this.maxLength,
      template,
      connection: this.connection,
      show: (node) => {
        this.log.append(node);
        this.scrollToBottom();
      },
      sent: (message) => this.showSent(message),
    });
    this.rich = new RichMessages(this);
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
    this.composer.resend();
  }

  setBusy(reason, on) {
    if (on) this.busy.add(reason);
    else this.busy.delete(reason);
    this.log.setAttribute("aria-busy", String(this.busy.size > 0));
  }

  handle(event) {
    // Replies live in the thread panel (thread.js); the room shows their parent's count.
    const channelId = event.message ? event.message.channel_id : event.channel_id;
    if (event.parent_id && channelId === this.channelId) {
      this.rich.handle(event);
      this.noteSeq(event.seq);
      return;
    }
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
        this.composer.confirm(event.client_id, event.message);
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
    if (!this.composer.refused(event) && event.ref === "subscribe") this.sync.refused();
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
    if (message.parent_id) {
      this.rich.applyReply(message);
      return;
    }
    this.rich.applyParent(message);
    const existing = document.getElementById(`m-${message.id}`);
    if (existing) {
      if (Number(existing.dataset.changeSeq) >= Number(message.change_seq)) return;
      const follow = this.nearBottom();
      existing.dataset.changeSeq = message.change_seq;
      renderRich(existing, message, this.userId);
      existing.querySelector(".message-edited").hidden = !message.edited_at;
      if (follow) this.scrollToBottom();
      return;
    }
    if (message.client_id && this.composer.confirm(message.client_id, message)) return;
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

  /** Your message, confirmed: placed by seq, unless an event already put it there. */
  showSent(message) {
    const follow = this.nearBottom();
    if (!document.getElementById(`m-${message.id}`)) this.place(this.render(message));
    if (follow) this.scrollToBottom();
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

  // --- edit, delete, retry (event delegation on the log)

  bindLog() {
    this.log.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action], button.reaction");
      if (!button || !this.log.contains(button)) return;
      const node = button.closest(".message");
      const action = button.dataset.action;
      if (this.rich.click(button, node)) return;
      if (action === "edit") this.edit(node);
      else if (action === "delete") this.deleteMessage(node);
      else if (action === "retry" || action === "discard") {
        this.composer.retryOrDiscard(node, action);
      }
    });
  }

  async edit(node) {
    // The editor shows the Markdown source; the page shows only the rendered HTML.
    let content;
    try {
      ({ content } = await api("GET", `${API}/messages/${node.dataset.id}`));
    } catch (failure) {
      this.composer.setError(`Could not edit the message: ${failure.message}`, "edit");
      return;
    }
    openEditor(node, {
      content,
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
      this.composer.setError(`Could not delete the message: ${failure.message}`, "delete");
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

