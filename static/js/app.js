// What every signed-in page shares: the sidebar kept live, keyboard switching, "New message",
// and the menu button that shows the sidebar on phones, desktop notifications and the room's
// notification settings. The page's own view forwards every event of its one WebSocket here
// (docs/web.md). The dialogs' and notifications' modules load on first use.

import { Sidebar } from "./sidebar.js";

const PROMPT_KEY = "chatsite.notify-prompt"; // "dismissed": the user said "Not now"

export class App {
  constructor({ onRemoved } = {}) {
    const root = document.querySelector("[data-sidebar]");
    this.sidebar = root ? new Sidebar(root, { onRemoved }) : null;
    if (!this.sidebar) return;
    this.userId = root.dataset.userId;
    this.loaded = {};
    document.addEventListener("keydown", (event) => this.onKey(event));
    for (const button of document.querySelectorAll("[data-switcher]")) {
      button.addEventListener("click", () => this.use("switcher", (switcher) => switcher.open()));
    }
    for (const button of document.querySelectorAll("[data-new-dm]")) {
      button.addEventListener("click", () => this.use("newDm", (dialog) => dialog.open()));
    }
    this.bindMenu(root);
    this.bindNotifications(root);
  }

  handle(event, options) {
    if (!this.sidebar) return;
    this.sidebar.handle(event, options);
    if (
      (event.type === "mention" || event.type === "message.created") &&
      document.visibilityState === "hidden" &&
      "Notification" in window &&
      Notification.permission === "granted"
    ) {
      this.use("notifier", (notifier) => notifier.handle(event));
    }
  }

  /** The "Enable desktop notifications" prompt (asks only on its button: a user gesture) and
   * the room's notification settings form. */
  bindNotifications(root) {
    const prompt = root.querySelector("[data-notify-prompt]");
    let dismissed = false;
    try {
      dismissed = localStorage.getItem(PROMPT_KEY) === "dismissed";
    } catch {
      dismissed = false;
    }
    if (prompt && "Notification" in window && Notification.permission === "default" && !dismissed) {
      prompt.hidden = false;
      prompt.querySelector("[data-notify-enable]").addEventListener("click", async () => {
        await Notification.requestPermission();
        prompt.hidden = true;
      });
      prompt.querySelector("[data-notify-dismiss]").addEventListener("click", () => {
        try {
          localStorage.setItem(PROMPT_KEY, "dismissed");
        } catch {
          // private mode: the prompt comes back on the next page, nothing worse
        }
        prompt.hidden = true;
      });
    }
    for (const form of document.querySelectorAll("[data-notify-settings]")) {
      form.addEventListener("change", () =>
        import("./notify-settings.js").then(({ save }) => save(form, this.sidebar)),
      );
      form.addEventListener("submit", (event) => event.preventDefault());
    }
  }

  opened(welcome) {
    if (this.sidebar) this.sidebar.opened(welcome);
  }

  /** Load a dialog's module once, then act on it. */
  async use(name, act) {
    const modules = {
      switcher: () => import("./switcher.js").then(({ Switcher }) => new Switcher(this.sidebar)),
      newDm: () => import("./new-dm.js").then(({ NewDm }) => new NewDm({ userId: this.userId })),
      notifier: () =>
        import("./desktop-notify.js").then(({ DesktopNotifier }) => new DesktopNotifier(this.sidebar)),
    };
    this.loaded[name] ||= modules[name]();
    act(await this.loaded[name]);
  }

  onKey(event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k") {
      event.preventDefault();
      this.use("switcher", (switcher) => switcher.open());
    } else if (event.altKey && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      event.preventDefault();
      const delta = event.key === "ArrowUp" ? -1 : 1;
      this.use("switcher", (switcher) => switcher.step(delta));
    }
  }

  /** Below 768 px the sidebar is a panel the menu button opens and Escape closes. */
  bindMenu(root) {
    const button = document.querySelector("[data-menu]");
    if (!button) return;
    const set = (open) => {
      button.setAttribute("aria-expanded", String(open));
      document.body.classList.toggle("sidebar-open", open);
    };
    button.addEventListener("click", () => {
      const open = button.getAttribute("aria-expanded") !== "true";
      set(open);
      if (open) (root.querySelector("[aria-current=page]") || root.querySelector("a, button")).focus();
    });
    root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && document.body.classList.contains("sidebar-open")) {
        set(false);
        button.focus();
      }
    });
  }
}
