// The thread panel beside the log (full screen on narrow screens): a message's replies, live,
// with a composer of its own. It loads on the first Reply or "N replies" click
// (rich-messages.js); the room's log, counts and chips never need it.

import { API, api } from "./api.js";
import { codePoints, newClientId } from "./outgoing.js";
import { renderMessage } from "./render.js";
import { renderRich } from "./rich.js";
import { markSeen, setUnread } from "./rich-messages.js";

export class ThreadPanel {
  constructor(room, rich) {
    this.room = room;
    this.rich = rich;
    this.panel = document.getElementById("thread-panel");
    this.parentId = null;
    this.opener = null;
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
      else this.rich.click(button, node);
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
  }

  isOpen() {
    return !this.panel.hidden;
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
