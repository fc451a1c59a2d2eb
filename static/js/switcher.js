// Moving between conversations by keyboard: Alt+Up / Alt+Down open the previous / next one
// in the sidebar, Ctrl+K (or Cmd+K) opens "Jump to", a list filtered as you type. app.js
// binds the keys and loads this module the first time one is used.

import { bindDialog } from "./dialog.js";
import { element } from "./render.js";

/** The link `delta` places from the current one (wrapping), or null when there is none. */
export function neighbour(links, current, delta) {
  if (!links.length) return null;
  const index = links.indexOf(current);
  if (index === -1) return delta > 0 ? links[0] : links[links.length - 1];
  return links[(index + delta + links.length) % links.length];
}

/** Names that match the query: those that start with it first, then those containing it. */
export function matches(names, query) {
  const wanted = query.trim().toLowerCase().replace(/^[#@]/, "");
  if (!wanted) return names.map((_, index) => index);
  const starts = [];
  const contains = [];
  names.forEach((name, index) => {
    const lower = name.toLowerCase();
    if (lower.startsWith(wanted)) starts.push(index);
    else if (lower.includes(wanted)) contains.push(index);
  });
  return [...starts, ...contains];
}

export class Switcher {
  constructor(sidebar) {
    this.sidebar = sidebar;
    this.dialog = document.getElementById("switcher-dialog");
    this.input = document.getElementById("switcher-query");
    this.list = document.getElementById("switcher-options");
    this.modal = bindDialog(this.dialog);
    this.active = 0;
    this.shown = [];
    this.input.addEventListener("input", () => this.filter());
    this.input.addEventListener("keydown", (event) => this.onListKey(event));
    this.dialog.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.go(this.shown[this.active]);
    });
    this.list.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) this.go(this.shown[Number(option.dataset.index)]);
    });
  }

  /** Alt+Up / Alt+Down: open the previous / next conversation of the sidebar. */
  step(delta) {
    if (this.dialog.open) return;
    const links = this.sidebar.links();
    const current = links.find((link) => link.getAttribute("aria-current") === "page");
    const next = neighbour(links, current || null, delta);
    if (next && next !== current) window.location.assign(next.href);
  }

  open() {
    this.input.value = "";
    this.filter();
    this.modal.open(this.input);
  }

  filter() {
    const links = this.sidebar.links();
    const names = links.map((link) => link.querySelector(".conversation-name").textContent);
    this.shown = matches(names, this.input.value).map((index) => links[index]);
    this.list.replaceChildren(
      ...this.shown.map((link, index) => {
        const option = element("li", "suggestion", link.textContent.replace(/\s+/g, " ").trim());
        option.id = `switcher-option-${index}`;
        option.setAttribute("role", "option");
        option.dataset.index = String(index);
        return option;
      }),
    );
    if (!this.shown.length) this.list.append(element("li", "suggestion-empty", "No match"));
    this.select(0);
  }

  select(index) {
    this.active = Math.max(0, Math.min(index, this.shown.length - 1));
    for (const option of this.list.querySelectorAll("[role=option]")) {
      option.setAttribute("aria-selected", String(Number(option.dataset.index) === this.active));
    }
    if (this.shown.length) {
      this.input.setAttribute("aria-activedescendant", `switcher-option-${this.active}`);
      const option = document.getElementById(`switcher-option-${this.active}`);
      if (option && option.scrollIntoView) option.scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  }

  onListKey(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      this.select(this.active + (event.key === "ArrowDown" ? 1 : -1));
    }
  }

  go(link) {
    if (!link) return;
    this.modal.close();
    window.location.assign(link.href);
  }
}
