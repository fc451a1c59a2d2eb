// The room opened at one message (/channels/<name>/?m=<id>, from search or a link): that
// message highlighted and in view, and newer pages loaded as one reads down. Older pages
// come from the room's own "Load older messages".
import { API, api } from "./api.js";

const PAGE = "50";

export class RoomJump {
  constructor(room, messageId) {
    this.room = room;
    this.link = room.root.querySelector("[data-load-newer]");
    this.loading = false;
    const target = document.getElementById(`m-${messageId}`);
    if (target) {
      target.classList.add("message-highlight");
      target.setAttribute("aria-current", "true");
      target.scrollIntoView({ block: "center" });
      // The browser scrolls to the URL's #m-<id> once the page has loaded, to the top edge:
      // centre it again then, so the messages before it show too.
      window.addEventListener("load", () => target.scrollIntoView({ block: "center" }), {
        once: true,
      });
    }
    if (this.link) this.bindNewer();
  }

  bindNewer() {
    // The newest message of the block loaded around the target; live messages may follow
    // after a gap, which the pages from here fill in seq order (Room.place).
    this.gapAfter = new URL(this.link.href).searchParams.get("m");
    this.link.addEventListener("click", (event) => {
      event.preventDefault();
      this.loadNewer();
    });
    // Reading down to the end of what is loaded brings the next page.
    this.onScroll = () => {
      if (this.room.nearBottom()) this.loadNewer();
    };
    this.room.log.addEventListener("scroll", this.onScroll, { passive: true });
  }

  async loadNewer() {
    if (this.loading || !this.link) return;
    this.loading = true;
    this.link.setAttribute("aria-disabled", "true");
    try {
      const params = new URLSearchParams({
        channel_id: this.room.channelId,
        after: this.gapAfter,
        limit: PAGE,
      });
      const page = await api("GET", `${API}/messages?${params}`);
      this.room.setBusy("newer", true);
      for (const message of page.results) {
        if (!document.getElementById(`m-${message.id}`)) {
          this.room.place(this.room.render(message));
        }
      }
      this.room.setBusy("newer", false);
      const last = page.results[page.results.length - 1];
      if (last) this.gapAfter = last.id;
      if (page.has_more) {
        this.link.href = `?m=${this.gapAfter}#m-${this.gapAfter}`;
        this.link.removeAttribute("aria-disabled");
      } else {
        this.room.log.removeEventListener("scroll", this.onScroll);
        this.link.remove();
        this.link = null;
      }
    } catch {
      window.location.assign(this.link.href);
    } finally {
      this.loading = false;
    }
  }
}

const room = window.chatsiteRoom;
const messageId = new URLSearchParams(window.location.search).get("m");
if (room && messageId) window.chatsiteRoomJump = new RoomJump(room, messageId);
