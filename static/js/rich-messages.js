// Rich messages in the room: reactions, and threads in a live panel beside the log (full
// screen on narrow screens). The room (room.js) hands this module the clicks on message tools
// and every event about a reply; replies never go into the room's log, only their parent's
// "N replies" changes. A thread with replies you have not seen shows it on its parent.
// The thread panel (thread.js), the emoji picker (reactions.js) and the report dialog
// (report.js) load on first use, so the room's first load stays light (docs/web.md,
// "Weight"); counts and chips work without them.

import { API, api } from "./api.js";
import { showReplyCount } from "./rich.js";

const SEEN_KEY = "chatsite:thread-seen:";

function seenCount(parentId) {
  try {
    const value = window.localStorage.getItem(SEEN_KEY + parentId);
    return value === null ? null : Number(value);
  } catch {
    return null;
  }
}

export function markSeen(parentId, count) {
  try {
    window.localStorage.setItem(SEEN_KEY + parentId, String(count));
  } catch {
    // Private mode without storage: unread replies show for this page only.
  }
}

export function setUnread(article, unread) {
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

/** Add or take back your `emoji` on message `id`; resolves to the message (or null). */
export async function toggleReaction(id, emoji, mine) {
  const path = `${API}/messages/${id}/reactions/`;
  if (mine) {
    await api("DELETE", `${path}${encodeURIComponent(emoji)}/`);
    return api("GET", `${API}/messages/${id}`);
  }
  return api("POST", path, { emoji });
}

export class RichMessages {
  constructor(room) {
    this.room = room;
    this.picker = null;
    this.pickerLoading = null;
    this.panel = null;
    this.panelLoading = null;
    this.reportLoading = null;
    this.panelNode = document.getElementById("thread-panel");
    for (const article of this.room.log.querySelectorAll(".message[data-id]")) this.noteUnread(article);
  }

  /** The open thread's parent id, or null. */
  get parentId() {
    return this.panel ? this.panel.parentId : null;
  }

  loadPanel() {
    this.panelLoading ||= import("./thread.js").then(({ ThreadPanel }) => {
      this.panel = new ThreadPanel(this.room, this);
      return this.panel;
    });
    return this.panelLoading;
  }

  loadPicker() {
    this.pickerLoading ||= import("./reactions.js").then(({ EmojiPicker }) => {
      this.picker = new EmojiPicker();
      return this.picker;
    });
    return this.pickerLoading;
  }

  loadReport() {
    this.reportLoading ||= import("./report.js").then(({ ReportDialog }) => new ReportDialog());
    return this.reportLoading;
  }

  /** A click on a message's React, Reply, Report, "N replies" or a reaction chip; true if
   * handled. */
  click(button, node) {
    if (button.classList.contains("reaction")) {
      this.react(node, button.dataset.emoji, button.getAttribute("aria-pressed") === "true");
      return true;
    }
    const action = button.dataset.action;
    if (action === "react") {
      this.loadPicker().then(
        (picker) =>
          picker.open(button, (emoji) => {
            const chip = node.querySelector(`.reaction[data-emoji="${CSS.escape(emoji)}"]`);
            this.react(node, emoji, chip?.getAttribute("aria-pressed") === "true");
          }),
        (failure) => this.room.composer.setError(`Could not react: ${failure.message}`, "react"),
      );
      return true;
    }
    if (action === "report") {
      this.loadReport().then(
        (dialog) => dialog.open(node),
        (failure) => this.room.composer.setError(`Could not report: ${failure.message}`, "report"),
      );
      return true;
    }
    if ((action === "reply" || action === "thread") && this.panelNode) {
      const parentId = node.dataset.id;
      this.loadPanel().then(
        (panel) => panel.open(parentId, button),
        (failure) =>
          this.room.composer.setError(`Could not open the thread: ${failure.message}`, "thread"),
      );
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
      if (event.parent_id === this.parentId && this.panel.isOpen()) {
        markSeen(event.parent_id, event.reply_count);
      } else if (
        event.type === "message.created" &&
        String(event.message.user_id) !== this.room.userId
      ) {
        setUnread(parent, true);
      }
    }
    if (!this.panel || event.parent_id !== this.parentId) return;
    if (event.type === "message.deleted") this.room.removeMessage(event.id);
    else this.panel.applyReply(event.message);
  }

  noteUnread(article) {
    const summary = article.querySelector(".thread-summary");
    if (!summary || summary.hidden) return;
    const count = Number.parseInt(summary.textContent, 10) || 0;
    const seen = seenCount(article.dataset.id);
    if (seen !== null && count > seen) setUnread(article, true);
  }

  /** A reply created or changed, from an event or a REST answer: only an open panel shows it. */
  applyReply(message) {
    if (this.panel) this.panel.applyReply(message);
  }

  /** The parent message shown atop an open panel, updated like the room's copy. */
  applyParent(message) {
    if (this.panel) this.panel.applyParent(message);
  }
}
