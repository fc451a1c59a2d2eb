// Desktop notifications (docs/web.md, "Notifications"), loaded on the first event that could
// make one. While the tab is hidden, a `mention` event whose `notify` is true (a mention or a
// direct message, not in a muted channel) shows a Notification; so does every new message of
// a conversation set to "Every new message". Clicking one focuses this tab and opens the
// message (`/channels/<name>/?m=<id>`).

const BODY_LENGTH = 140;

export class DesktopNotifier {
  constructor(sidebar) {
    this.sidebar = sidebar;
    this.shown = new Set(); // message ids: a mention in an "all" channel alerts once
  }

  handle(event) {
    if (event.type === "mention") {
      if (event.notify) this.show(event.message, event.kind);
    } else if (event.type === "message.created" && event.message) {
      const item = this.item(event.message.channel_id);
      const own = String(event.message.user_id) === String(this.sidebar.userId);
      if (item && !own && item.dataset.notify === "all" && !item.hasAttribute("data-muted")) {
        this.show(event.message, "all");
      }
    }
  }

  item(channelId) {
    return this.sidebar.items.get(String(channelId));
  }

  show(message, kind) {
    if (document.visibilityState !== "hidden") return;
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (this.shown.has(message.id)) return;
    this.shown.add(message.id);
    const item = this.item(message.channel_id);
    const author = (message.author && (message.author.display_name || message.author.username)) || "Someone";
    const where = item && item.dataset.kind !== "dm"
      ? ` in #${item.dataset.name}`
      : "";
    const text = (message.content || "").replace(/\s+/g, " ").trim();
    const notification = new Notification(`${author}${where}`, {
      body: text.length > BODY_LENGTH ? `${text.slice(0, BODY_LENGTH - 1)}…` : text,
      tag: `chatsite-${message.id}`,
      data: { kind },
    });
    const url = item
      ? `/channels/${encodeURIComponent(item.dataset.name)}/?m=${encodeURIComponent(message.id)}`
      : "/mentions/";
    notification.addEventListener("click", () => {
      window.focus();
      notification.close();
      window.location.assign(url);
    });
  }
}
