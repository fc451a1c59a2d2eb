// Rich messages in the room: reactions, and threads in a live panel beside the log (full
// screen on narrow screens). The room (room.js) hands this module the clicks on message tools
// and every event about a reply; replies never go into the room's log, only their parent's
// "N replies" changes. A thread with replies you have not seen shows it on its parent.

import { API, api } from "./api.js";
import { codePoints, newClientId } from "./outgoing.js";
import { EmojiPicker, toggleReaction } from "./reactions.js";
import { renderMessage } from "./render.js";
import { renderRich, showReplyCount } from "./rich.js";

const SEEN_KEY = "chatsite:thread-seen:";

function seenCount(parentId) {
  try {
    const value = window.localStorage.getItem(SEEN_KEY + parentId);
    return value === null ? null : Number(value);
  } catch {
    return null;
  }
}

function markSeen(parentId, count) {
  try {
    window.localStorage.setItem(SEEN_KEY + parentId, String(count));
  } catch {
    // Private mode without storage: unread replies show for this page only.
  }
}

function setUnread(article, unread) {
  const summary = article && article.querySelector(".thread-summary");
  if (!summary) return;
  summary.dataset.unread = String(unread);
  let note = summary.querySelector(".thread-new");
  if (unread && !note) {
    note = document.createElement("span");
    note.className = "thread-new";
    note.textContent = "new";
    summary.append(" ", note);
  } else if (!unread && note) {
    note.previousSibling?.remove?.();
    note.remove();
  }
}

export class RichMessages {
  constructor(room) {
    this.room = room;
    this.picker = null;
    this.panel = document.getElementById("thread-panel");
    this.parentId = null;
    this.opener = null;
    if (!this.panel) return;
    this.parentBox = this.panel.querySelector(".thread-parent");
    this.replies = this.panel.querySelector(".thread-log");
    this.form = this.panel.querySelector(".thread-composer");
    this.input = this.panel.querySelector("#thread-input");
    this.error = this.panel.querySelector("[data-thread-error]");
    this.panel.querySelector("[data-thread-close]").addEventListener("click", () => this.close());
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.target.closest(".message-editor, .emoji-picker")) {
        event.preventDefault();
        this.close();
      }
    });
    this.panel.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button || !this.panel.contains(button)) return;
      const node = button.closest(".message");
      if (!node) return;
      if (button.dataset.action === "edit") this.room.edit(node);
      else if (button.dataset.action === "delete") this.room.deleteMessage(node);
      else this.click(button, node);
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    for (const article of this.room.log.querySelectorAll(".message[data-id]")) this.noteUnread(article);
  }

  /** A click on a message's React, Reply, "N replies" or a reaction chip; true if handled. */
  click(button, node) {
    if (button.classList.contains("reaction")) {
      this.react(node, button.dataset.emoji, button.getAttribute("aria-pressed") === "true");
      return true;
    }
    const action = button.dataset.action;
    if (action === "react") {
      if (!this.picker) this.picker = new EmojiPicker();
      this.picker.open(button, (emoji) => {
        const chip = node.querySelector(`.reaction[data-emoji="${CSS.escape(emoji)}"]`);
        this.react(node, emoji, chip?.getAttribute("aria-pressed") === "true");
      });
      return true;
    }
    if (action === "reply" || action === "thread") {
      this.open(node.dataset.id, button);
      return true;
    }
    return false;
  }

  async react(node, emoji, mine) {
    try {
      const message = await toggleReaction(node.dataset.id, emoji, mine);
      if (message) this.room.applyMessage(message);
    } catch (failure) {
      this.room.composer.setError(`Could not react: ${failure.message}`, "react");
    }
  }

  // --- events

  /** An event about a reply (it carries parent_id): the parent's count, the open panel. */
  handle(event) {
    const parent = document.getElementById(`m-${event.parent_id}`);
    if (parent && typeof event.reply_count === "number") {
      showReplyCount(parent, event.reply_count);
      if (event.parent_id === this.parentId && !this.panel.hidden) {
        markSeen(event.parent_id, event.reply_count);
      } else if (
        event.type === "message.created" &&
        String(event.message.user_id) !== this.room.userId
      ) {
        setUnread(parent, true);
      }
    }
    if (event.parent_id !== this.parentId) return;
    if (event.type === "message.deleted") this.room.removeMessage(event.id);
    else this.applyReply(event.message);
  }

  noteUnread(article) {
    const summary = article.querySelector(".thread-summary");
    if (!summary || summary.hidden) return;
    const count = Number.parseInt(summary.textContent, 10) || 0;
    const seen = seenCount(article.dataset.id);
    if (seen !== null && count > seen) setUnread(article, true);
  }

  /** A reply created or changed, from an event or a REST answer. Idempotent. */
  applyReply(message) {
    if (!this.panel || message.parent_id !== this.parentId) return;
    const existing = this.replies.querySelector(`#m-${CSS.escape(message.id)}`);
    if (existing) {
      // In place, as the room does: an open editor or the focus stays where it is.
      if (Number(existing.dataset.changeSeq) >= Number(message.change_seq)) return;
      existing.dataset.changeSeq = message.change_seq;
      renderRich(existing, message, this.room.userId);
      existing.querySelector(".message-edited").hidden = !message.edited_at;
      return;
    }
    const node = renderMessage(this.room.template, message, this.room.userId);
    const empty = this.replies.querySelector(".thread-empty");
    if (empty) empty.remove();
    const later = [...this.replies.querySelectorAll(".message")].find(
      (other) => Number(other.dataset.seq) > Number(message.seq),
    );
    this.replies.insertBefore(node, later || null);
    this.replies.scrollTop = this.replies.scrollHeight;
  }

  /** The parent message shown atop the panel, updated like the room's copy. */
  applyParent(message) {
    if (!this.panel || message.id !== this.parentId) return;
    const node = renderMessage(this.room.template, message, this.room.userId);
    node.removeAttribute("id");
    this.parentBox.replaceChildren(node);
  }

  // --- the panel

  async open(parentId, opener) {
    if (!this.panel) return;
    this.parentId = parentId;
    this.opener = opener;
    this.panel.hidden = false;
    this.room.root.classList.add("thread-open");
    this.replies.setAttribute("aria-busy", "true");
    this.replies.replaceChildren();
    this.parentBox.replaceChildren();
    this.error.textContent = "";
    this.input.focus();
    try {
      const [parent, page] = await Promise.all([
        api("GET", `${API}/messages/${parentId}`),
        api("GET", `${API}/messages?${new URLSearchParams({ thread: parentId, limit: "200" })}`),
      ]);
      if (this.parentId !== parentId) return;
      this.applyParent(parent);
      for (const reply of page.results) this.applyReply(reply);
      if (!page.results.length) {
        const empty = document.createElement("p");
        empty.className = "thread-empty";
        empty.textContent = "No replies yet.";
        this.replies.append(empty);
      }
      markSeen(parentId, parent.reply_count);
      setUnread(document.getElementById(`m-${parentId}`), false);
    } catch (failure) {
      this.error.textContent = `Could not open the thread: ${failure.message}`;
    } finally {
      this.replies.setAttribute("aria-busy", "false");
    }
  }

  close() {
    if (!this.panel || this.panel.hidden) return;
    this.panel.hidden = true;
    this.room.root.classList.remove("thread-open");
    this.parentId = null;
    const fallback = this.room.log;
    if (this.opener && this.opener.isConnected) this.opener.focus();
    else fallback.focus();
  }

  async send() {
    const content = this.input.value;
    if (!content.trim()) {
      this.error.textContent = "A reply cannot be empty.";
      return;
    }
    if (codePoints(content) > this.room.maxLength) {
      this.error.textContent = `The limit is ${this.room.maxLength} characters.`;
      return;
    }
    this.error.textContent = "";
    const button = this.form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const message = await api("POST", `${API}/messages`, {
        channel_id: this.room.channelId,
        content,
        parent_id: this.parentId,
        client_id: newClientId(),
      });
      this.input.value = "";
      this.applyReply(message);
    } catch (failure) {
      this.error.textContent = `Your reply was not sent: ${failure.message}`;
    } finally {
      button.disabled = false;
      this.input.focus();
    }
  }
}
