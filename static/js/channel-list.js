// The channel list view ("Browse channels"): unread badges that count up live. Its one
// WebSocket also keeps the sidebar live (app.js).

import { API, api } from "./api.js";
import { Connection } from "./connection.js";
import { hiddenText } from "./render.js";

export class ChannelList {
  constructor(root, app = null) {
    this.app = app;
    this.userId = root.dataset.userId;
    this.items = new Map();
    for (const item of root.querySelectorAll(".channel-item[data-channel-id]")) {
      this.items.set(item.dataset.channelId, item);
    }
    this.welcomes = 0;
    this.connection = new Connection({
      heartbeatSeconds: 30,
      onEvent: (event) => {
        this.handle(event);
        if (this.app) this.app.handle(event);
      },
      // Counts may have moved between the page's render and this welcome, or while a
      // reconnect was pending: ask for them again then, and only then.
      onOpen: (welcome) => {
        this.welcomes += 1;
        if (this.app) this.app.opened(welcome);
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
