// The room view: the log, edit/delete, older pages, typing, presence and the read marker;
// composer.js sends, sync.js keeps the log complete. Edits, deletes, older pages and the read
// marker use the REST API (the WebSocket protocol has no frames for them).

import { API, api } from "./api.js";
import { Connection } from "./connection.js";
import { Composer } from "./composer.js";
import { confirmAction } from "./dialog.js";
import { openEditor } from "./editor.js";
import { Panels } from "./panels.js";
import { localizeTimes, markDeleted, renderMessage } from "./render.js";
import { renderRich } from "./rich.js";
import { RichMessages } from "./rich-messages.js";
import { ChannelSync } from "./sync.js";
import { decorateLog } from "./timeline.js";

const TYPING_SHOWN_MS = 5000;
const TYPING_STALE_MS = 1000;

export class Room {
  constructor(root, template, app = null) {
    this.root = root;
    this.template = template;
    this.app = app;
    this.moderator = root.hasAttribute("data-moderator");
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
    this.spoke = new Map();
    this.readTimer = null;

    this.connection = new Connection({
      heartbeatSeconds: Number(root.dataset.heartbeat),
      onEvent: (event) => {
        this.handle(event);
        if (this.app) this.app.handle(event, { roomVisible: this.visible() });
      },
      onOpen: (welcome) => {
        this.resume();
        if (this.app) this.app.opened(welcome);
      },
      onState: (state, text) => this.showState(state, text),
      pingFrame: () => this.sync.pingFrame(),
    });
    this.composer = new Composer({
      form: root.querySelector(".composer"),
      channelId: this.channelId,
      userName: root.dataset.userName,
      userId: this.userId,
      maxLength: this.maxLength,
      template,
      connection: this.connection,
      show: (node) => {
        this.log.append(node);
        decorateLog(this.log);
        this.scrollToBottom();
      },
      reveal: (node) => this.reveal(node),
      sent: (message) => this.showSent(message),
    });
    this.rich = new RichMessages(this);
    this.bindLog();
    this.bindLoadOlder();
    localizeTimes(this.log);
    decorateLog(this.log);
    this.panels = new Panels(root);
    this.bindMembers();
    this.bindPreview();
    this.notice = document.getElementById("room-notice");
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
    // Replies live in the thread panel (rich-messages.js); the room shows their parent's count.
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
          this.tombstone(event.id);
          this.noteSeq(event.seq);
        }
        break;
      case "channel.updated":
        if (event.channel && event.channel.id === this.channelId) this.showDetails(event.channel);
        break;
      case "membership":
        if (!event.joined && event.channel && event.channel.id === this.channelId) {
          this.removedFrom(this.channelId);
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
        // Batched (we ask for it), or one change per event from an older server.
        for (const change of event.users || [event]) {
          this.showPresence(String(change.user_id), change.status);
        }
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
    return renderMessage(this.template, message, this.userId, { moderator: this.moderator });
  }

  visible() {
    return document.visibilityState === "visible" && !this.left;
  }

  /** Keep a node wholly in view inside the log (an editor, a failed message). */
  reveal(node) {
    const log = this.log.getBoundingClientRect();
    const box = node.getBoundingClientRect();
    if (box.bottom > log.bottom) this.log.scrollTop += box.bottom - log.bottom + 8;
    else if (box.top < log.top) this.log.scrollTop -= log.top - box.top + 8;
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
      this.tombstone(message.id);
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
      if (existing.classList.contains("message-deleted")) {
        existing.replaceWith(this.render(message));
        decorateLog(this.log);
      } else {
        renderRich(existing, message, this.userId);
        existing.querySelector(".message-edited").hidden = !message.edited_at;
      }
      if (follow) this.scrollToBottom();
      return;
    }
    if (message.client_id && this.composer.confirm(message.client_id, message)) return;
    if (this.beforeLoadedHistory(message)) return;
    const follow = this.nearBottom();
    this.place(this.render(message));
    decorateLog(this.log);
    this.typers.delete(String(message.user_id));
    this.spoke.set(String(message.user_id), Date.now());
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
    decorateLog(this.log);
    if (follow) this.scrollToBottom();
  }

  /** A deleted message stays in the log as "message deleted" (docs/moderation.md). */
  tombstone(id) {
    const node = document.getElementById(`m-${id}`);
    if (!node || node.classList.contains("message-deleted")) return;
    const hadFocus = node.contains(document.activeElement);
    markDeleted(node);
    decorateLog(this.log);
    if (hadFocus) this.log.focus();
  }

  // --- the conversation itself: its members, renamed, or the user is no longer in it

  /** The composer's Preview: preview.js loads on its first click. */
  bindPreview() {
    const button = this.root.querySelector("[data-preview]");
    if (!button) return;
    button.addEventListener("click", () => {
      this.previewLoading ||= import("./preview.js");
      this.previewLoading.then(
        ({ showPreview }) => showPreview(this.root),
        (failure) => this.composer.setError(`No preview: ${failure.message}`, "preview"),
      );
    });
  }

  /**
   * members.js manages the members panel; it loads when the panel is first used (focus,
   * pointer), so the room's first load stays light. A click that comes before it is handed on.
   */
  bindMembers() {
    const panel = this.root.querySelector('[data-panel="members"]');
    if (!panel) return;
    this.members = null;
    const load = () => {
      this.membersLoading ||= import("./members.js").then(({ Members }) => {
        this.members = new Members(this.root, {
          channelId: this.channelId,
          channelName: this.root.dataset.channelName,
          userId: this.userId,
          onUpdated: (channel) => this.showDetails(channel),
        });
        return this.members;
      });
      return this.membersLoading;
    };
    panel.addEventListener("focusin", load);
    panel.addEventListener("pointerdown", load);
    panel.addEventListener("click", async (event) => {
      if (this.members) return;
      const members = await load();
      members.onClick(event);
    });
  }

  showDetails(channel) {
    const topic = this.root.querySelector("[data-room-topic]");
    const subtitle = channel.title && channel.title !== channel.name ? channel.title : "";
    let sub = topic.querySelector("[data-room-subtitle]");
    if (subtitle && !sub) {
      sub = document.createElement("span");
      sub.className = "room-subtitle";
      sub.dataset.roomSubtitle = "";
      topic.prepend(sub, " ");
    }
    if (sub) sub.textContent = subtitle;
    topic.querySelector("[data-room-topic-text]").textContent = channel.topic || "";
    topic.hidden = !subtitle && !channel.topic;
    const form = document.querySelector("[data-details-form]");
    if (form) {
      form.elements.title.value = channel.title || "";
      form.elements.topic.value = channel.topic || "";
    }
  }

  /** Removed (or left in another tab): say so, stop showing the conversation, offer a way out. */
  removedFrom(channelId) {
    if (channelId !== this.channelId || this.left) return;
    this.left = true;
    const name = this.root.dataset.kind === "dm" ? "this conversation" : `#${this.root.dataset.channelName}`;
    const text = `You are no longer a member of ${name}.`;
    this.notice.replaceChildren(text, " ");
    const out = document.createElement("a");
    out.href = "/";
    out.textContent = "Go to Browse channels";
    this.notice.append(out);
    this.notice.hidden = false;
    this.root.classList.add("room-left");
    if (this.root.hasAttribute("data-private")) {
      this.log.replaceChildren();
      const form = this.root.querySelector(".composer");
      if (form) form.remove();
    }
    this.notice.focus();
  }

  // --- edit, delete, retry (event delegation on the log)

  bindLog() {
    this.log.addEventListener("click", (event) => {
      const preview = event.target.closest("a.attachment-image");
      if (preview && !event.ctrlKey && !event.metaKey && !event.shiftKey && event.button === 0) {
        // The lightbox loads on the first click on an image (lightbox.js).
        event.preventDefault();
        import("./lightbox.js").then(({ openLightbox }) => openLightbox(preview));
        return;
      }
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
      opened: (editor) => this.reveal(editor),
      maxLength: this.maxLength,
      save: async (content, close) => {
        const message = await api("PATCH", `${API}/messages/${node.dataset.id}`, { content });
        close();
        this.applyMessage(message);
      },
    });
  }

  async deleteMessage(node) {
    const own = node.dataset.userId === this.userId;
    const author = node.querySelector(".message-author").textContent;
    const sure = await confirmAction(
      {
        title: own ? "Delete your message?" : `Delete ${author}'s message?`,
        text: "It is removed for everyone and shows as “message deleted”. This cannot be undone.",
        action: "Delete",
      },
      { returnTo: this.log },
    );
    if (!sure) return;
    try {
      await api("DELETE", `${API}/messages/${node.dataset.id}`);
      this.tombstone(node.dataset.id);
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
        decorateLog(this.log);
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
    // A notice overtaken by the message it announced (they travel apart) is stale.
    if (Date.now() - (this.spoke.get(String(user.id)) || 0) < TYPING_STALE_MS) return;
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
    // The line keeps its height when empty, so showing it never moves or covers the log.
    this.typingLine.textContent = text;
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

