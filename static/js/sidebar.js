// The sidebar of every signed-in page: the user's channels and direct messages with live
// unread counts. It follows every conversation's events, not only the open room's: new
// messages, read markers moved in other tabs, joins and removals, renames, a DM arriving.
// Unread mentions (`mention` events) get the red pill, add up in "Mentions" and in the page
// title: "(3) #general · chatsite" (docs/web.md, "Notifications").

import { API, api } from "./api.js";
import { AVATAR_COLOURS, avatarColour, initials, shownName } from "./people.js";
import { hiddenText } from "./render.js";

/** A DM's avatar: the other person's, or the head count of a group (as chat_ui.py). */
export function dmAvatar(channel, userId) {
  const members = (channel.members || []).map((member) => member.user || member);
  const others = members.filter((user) => String(user.id) !== String(userId));
  if (others.length === 1) {
    return { colour: avatarColour(others[0].id), text: initials(shownName(others[0])) };
  }
  return { colour: AVATAR_COLOURS - 1, text: String(members.length) };
}

/** The label of a conversation in its REST shape, for the user `userId`. */
export function conversationLabel(channel, userId) {
  if (channel.kind !== "dm") return channel.name;
  if (channel.title) return channel.title; // the server titles a DM for the one asking
  const others = (channel.members || [])
    .map((member) => member.user || member)
    .filter((user) => String(user.id) !== String(userId))
    .map(shownName);
  return others.join(", ") || channel.name;
}

export class Sidebar {
  /** `onRemoved(channelId)`: the user left or was removed from a conversation. */
  constructor(root, { onRemoved = () => {}, currentId = "" } = {}) {
    this.root = root;
    this.userId = root.dataset.userId;
    this.currentId = currentId || root.dataset.currentId || "";
    this.onRemoved = onRemoved;
    this.template = document.getElementById("sidebar-item-template");
    this.items = new Map();
    for (const item of root.querySelectorAll(".conversation[data-channel-id]")) {
      this.items.set(item.dataset.channelId, item);
    }
    this.welcomes = 0;
    this.mentionsLink = root.querySelector("[data-mentions-link]");
    this.baseTitle = document.title.replace(/^\(\d+\) /, "");
    this.showTotal();
  }

  links() {
    return [...this.root.querySelectorAll(".conversation-link")];
  }

  /** After every welcome: counts may have moved while the page loaded or the socket was down. */
  opened(welcome) {
    this.welcomes += 1;
    const channels = (welcome && welcome.channels) || [];
    const behind = channels.some((channel) => {
      const item = this.items.get(channel.id);
      return !item || Number(channel.last_seq) > Number(item.dataset.lastSeq);
    });
    const gone = [...this.items.keys()].some((id) => !channels.some((c) => c.id === id));
    if (this.welcomes > 1 || behind || gone) this.refresh();
  }

  async refresh() {
    let channels;
    try {
      const answer = await api("GET", `${API}/channels/?limit=200`);
      channels = (answer.results || answer).filter((channel) => channel.is_member);
    } catch {
      return; // the live events still count; a reload shows the rest
    }
    const seen = new Set();
    for (const channel of channels) {
      seen.add(channel.id);
      const item = this.items.get(channel.id) || this.add(channel);
      // A live event newer than this answer already counted: keep the live count.
      if (Number(item.dataset.lastSeq) > Number(channel.last_seq)) continue;
      this.setCount(item, Number(channel.unread_count) || 0, channel.last_seq);
      this.setMentions(item, Number(channel.unread_mentions) || 0);
      this.setSettings(item, channel);
    }
    for (const id of [...this.items.keys()]) if (!seen.has(id)) this.remove(id);
  }

  handle(event, { roomVisible = false } = {}) {
    switch (event.type) {
      case "message.created":
        this.messageCreated(event, roomVisible);
        break;
      case "read":
        this.readMoved(String(event.channel_id), Number(event.seq));
        break;
      case "mention":
        this.mentioned(event, roomVisible);
        break;
      case "membership":
        if (event.joined) this.joined(event.channel);
        else this.remove(String(event.channel.id || event.channel_id));
        break;
      case "subscribed":
        // The server follows a conversation for us that we have not drawn: we were added.
        if (!this.items.has(String(event.channel_id))) this.refresh();
        break;
      case "unsubscribed":
        // The server stopped sending a conversation's events: we are no longer in it.
        this.remove(String(event.channel_id));
        break;
      case "channel.updated":
        this.updated(event.channel);
        break;
      default:
        break;
    }
  }

  messageCreated(event, roomVisible) {
    const message = event.message;
    if (!message) return;
    const item = this.items.get(message.channel_id);
    if (!item) {
      this.refresh(); // a conversation we have not drawn yet (a DM that just started)
      return;
    }
    if (Number(item.dataset.lastSeq) >= Number(event.seq)) return;
    const own = String(message.user_id) === this.userId;
    const read = own || (message.channel_id === this.currentId && roomVisible);
    this.setCount(item, read ? 0 : this.count(item) + 1, event.seq);
  }

  readMoved(channelId, seq) {
    const item = this.items.get(channelId);
    if (!item) return;
    if (seq >= Number(item.dataset.lastSeq)) {
      this.setCount(item, 0, seq);
      this.setMentions(item, 0);
    } else if (this.mentions(item)) {
      this.refresh(); // read part of the way: the server knows which mentions are left
    }
  }

  mentioned(event, roomVisible) {
    const message = event.message;
    const item = message && this.items.get(message.channel_id);
    if (!item) {
      this.refresh(); // a conversation not drawn yet: the server's list has its count
      return;
    }
    if (message.channel_id === this.currentId && roomVisible) return; // read as it arrives
    this.setMentions(item, this.mentions(item) + 1);
  }

  mentions(item) {
    const pill = item.querySelector("[data-mentions]");
    return pill ? Number(pill.dataset.mentions) || 0 : 0;
  }

  setMentions(item, count) {
    const pill = item.querySelector("[data-mentions]");
    if (!pill) return;
    pill.dataset.mentions = String(count);
    pill.textContent = count ? String(count) : "";
    if (count) pill.append(hiddenText(count === 1 ? " mention" : " mentions"));
    pill.classList.toggle("badge-empty", !count);
    // In a direct message every message counts: its unread count is the pill (chatsite.css).
    const pillShown = count > 0 && item.dataset.kind !== "dm";
    item.querySelector(".conversation-link").classList.toggle("has-mentions", pillShown);
    this.showTotal();
  }

  /** What calls for you: the channels' unread mentions and the direct messages' unread
   * messages; on "Mentions" and in the page title. */
  total() {
    let sum = 0;
    for (const item of this.items.values()) {
      sum += item.dataset.kind === "dm" ? this.count(item) : this.mentions(item);
    }
    return sum;
  }

  showTotal() {
    const total = this.total();
    document.title = total ? `(${total}) ${this.baseTitle}` : this.baseTitle;
    if (!this.mentionsLink) return;
    const pill = this.mentionsLink.querySelector("[data-mention-total]");
    pill.dataset.mentionTotal = String(total);
    pill.textContent = total ? String(total) : "";
    if (total) pill.append(hiddenText(" unread"));
    pill.classList.toggle("badge-empty", !total);
    this.mentionsLink.classList.toggle("is-unread", total > 0);
  }

  /** A conversation's notification settings (its REST shape or a membership answer). */
  setSettings(item, { notify, muted }) {
    if (notify) item.dataset.notify = notify;
    item.toggleAttribute("data-muted", Boolean(muted));
    let note = item.querySelector(".conversation-muted");
    if (muted && !note) {
      note = hiddenText(" (muted)");
      note.classList.add("conversation-muted");
      item.querySelector(".conversation-name").after(note);
    } else if (!muted && note) {
      note.remove();
    }
  }

  count(item) {
    return Number(item.querySelector("[data-unread]").dataset.unread) || 0;
  }

  setCount(item, count, lastSeq) {
    if (lastSeq !== undefined) item.dataset.lastSeq = lastSeq;
    const badge = item.querySelector("[data-unread]");
    badge.dataset.unread = String(count);
    badge.textContent = count ? String(count) : "";
    if (count) badge.append(hiddenText(" unread"));
    badge.classList.toggle("badge-empty", !count);
    item.querySelector(".conversation-link").classList.toggle("is-unread", count > 0);
    if (item.dataset.kind === "dm") this.showTotal();
  }

  joined(channel) {
    if (!channel) return;
    const item = this.items.get(channel.id) || this.add(channel);
    this.setCount(item, Number(channel.unread_count) || 0, channel.last_seq);
    this.setMentions(item, Number(channel.unread_mentions) || 0);
  }

  /** Draw a conversation from its REST shape, in name order within its list. */
  add(channel) {
    const item = this.template.content.firstElementChild.cloneNode(true);
    const kind = channel.kind === "dm" ? "dm" : "channel";
    const label = conversationLabel(channel, this.userId);
    item.dataset.channelId = channel.id;
    item.dataset.name = channel.name;
    item.dataset.kind = kind;
    item.dataset.lastSeq = channel.last_seq || 0;
    this.setSettings(item, channel);
    const link = item.querySelector(".conversation-link");
    link.href = `/channels/${encodeURIComponent(channel.name)}/`;
    if (kind === "dm") {
      const avatar = document.createElement("span");
      avatar.className = "avatar avatar-small";
      avatar.setAttribute("aria-hidden", "true");
      const { colour, text } = dmAvatar(channel, this.userId);
      avatar.dataset.colour = String(colour);
      avatar.textContent = text;
      link.querySelector(".icon").replaceWith(avatar);
    } else {
      this.setIcon(item, channel.is_private);
    }
    item.querySelector(".conversation-name").textContent = label;
    const list = this.root.querySelector(`[data-list="${kind}"]`);
    const after = [...list.children].find(
      (other) =>
        other.querySelector(".conversation-name").textContent.localeCompare(label) > 0,
    );
    list.insertBefore(item, after || null);
    this.items.set(channel.id, item);
    this.showEmpty();
    return item;
  }

  setIcon(item, isPrivate) {
    const use = item.querySelector(".icon use");
    if (use) use.setAttribute("href", isPrivate ? "#icon-lock" : "#icon-hash");
    const name = item.querySelector(".conversation-name");
    let note = item.querySelector(".conversation-private");
    if (isPrivate && !note) {
      note = hiddenText(" (private)");
      note.classList.add("conversation-private");
      name.after(note);
    } else if (!isPrivate && note) {
      note.remove();
    }
  }

  updated(channel) {
    const item = channel && this.items.get(channel.id);
    if (!item) return;
    if (item.dataset.kind !== "dm") this.setIcon(item, channel.is_private);
    item.querySelector(".conversation-name").textContent = conversationLabel(channel, this.userId);
  }

  remove(channelId) {
    const item = this.items.get(channelId);
    if (!item) return;
    const hadFocus = item.contains(document.activeElement);
    item.remove();
    this.items.delete(channelId);
    this.showEmpty();
    this.showTotal();
    if (hadFocus) (this.links()[0] || this.root).focus();
    this.onRemoved(channelId);
  }

  showEmpty() {
    const empty = this.root.querySelector("[data-dm-empty]");
    if (empty) empty.hidden = this.root.querySelector('[data-list="dm"] .conversation') !== null;
  }
}
