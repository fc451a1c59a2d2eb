// What every signed-in page shares: the sidebar kept live, keyboard switching, "New message",
// and the menu button that shows the sidebar on phones. The page's own view forwards every
// event of its one WebSocket here (docs/web.md).

import { NewDm } from "./new-dm.js";
import { Sidebar } from "./sidebar.js";
import { Switcher } from "./switcher.js";

export class App {
  constructor({ onRemoved } = {}) {
    const root = document.querySelector("[data-sidebar]");
    this.sidebar = root ? new Sidebar(root, { onRemoved }) : null;
    if (!this.sidebar) return;
    this.switcher = new Switcher(this.sidebar);
    this.newDm = new NewDm({ userId: root.dataset.userId });
    this.bindMenu(root);
  }

  handle(event, options) {
    if (this.sidebar) this.sidebar.handle(event, options);
  }

  opened(welcome) {
    if (this.sidebar) this.sidebar.opened(welcome);
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
