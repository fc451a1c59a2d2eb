// The right panel of the room: one <section class="panel" data-panel="NAME"> at a time,
// opened by a [data-panel-toggle="NAME"] button of the header. Wide screens show the
// members panel by default; phones show the room alone until a panel is asked for.
// Another panel (a thread) opens with `panels.show("thread")` (docs/web.md).

const WIDE = "(min-width: 48rem)";

export class Panels {
  constructor(root) {
    this.root = root;
    this.aside = root.querySelector(".side-panel");
    this.current = null;
    if (!this.aside) return;
    root.addEventListener("click", (event) => {
      const toggle = event.target.closest("[data-panel-toggle]");
      if (toggle) {
        const name = toggle.dataset.panelToggle;
        if (this.current === name) this.hide(toggle);
        else this.show(name, { focus: true });
      } else if (event.target.closest("[data-panel-close]")) {
        const name = this.current;
        this.hide(root.querySelector(`[data-panel-toggle="${name}"]`));
      }
    });
    this.aside.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !window.matchMedia(WIDE).matches) {
        this.hide(root.querySelector(`[data-panel-toggle="${this.current}"]`));
      }
    });
    if (window.matchMedia(WIDE).matches) this.show("members");
    else this.hide();
  }

  show(name, { focus = false } = {}) {
    let found = null;
    for (const panel of this.aside.querySelectorAll("[data-panel]")) {
      panel.hidden = panel.dataset.panel !== name;
      if (!panel.hidden) found = panel;
    }
    if (!found) return null;
    this.current = name;
    this.aside.hidden = false;
    this.root.classList.add("panel-open");
    this.syncToggles();
    if (focus) {
      const heading = found.querySelector("h2");
      if (heading) {
        heading.tabIndex = -1;
        heading.focus();
      }
    }
    return found;
  }

  hide(returnTo) {
    this.current = null;
    this.aside.hidden = true;
    this.root.classList.remove("panel-open");
    this.syncToggles();
    if (returnTo) returnTo.focus();
  }

  syncToggles() {
    for (const toggle of this.root.querySelectorAll("[data-panel-toggle]")) {
      toggle.setAttribute("aria-expanded", String(toggle.dataset.panelToggle === this.current));
    }
  }
}
