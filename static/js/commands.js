// Slash commands in the composer (docs/web.md, "Slash commands"): the list of commands as you
// type "/" and a name (a listbox the textarea controls through aria-activedescendant, as in
// Slack), completed with Tab or Enter, and running a command through
// POST /api/chat/channels/<id>/commands/. Loaded by composer.js on the first "/".

import { API, api } from "./api.js";

const PARTIAL_NAME = /^\/([A-Za-z0-9_-]*)$/;

/** Run `text` (a slash command) in the channel; resolves to {command, message}. */
export function runCommand(channelId, text) {
  return api("POST", `${API}/channels/${channelId}/commands/`, { text });
}

export class CommandList {
  constructor(input, root = document) {
    this.input = input;
    this.box = root.querySelector("[data-command-list]");
    this.list = root.getElementById("command-options");
    this.status = root.getElementById("command-status");
    this.options = [...this.list.querySelectorAll('[role="option"]')];
    this.active = null;
    // A click picks an option without taking the focus from the textarea.
    this.list.addEventListener("mousedown", (event) => event.preventDefault());
    this.list.addEventListener("click", (event) => {
      const option = event.target.closest('[role="option"]');
      if (option) this.complete(option);
    });
  }

  get isOpen() {
    return !this.box.hidden;
  }

  visible() {
    return this.options.filter((option) => !option.hidden);
  }

  /** Show the commands whose name starts with what follows the "/" (nothing after it yet). */
  update() {
    const match = PARTIAL_NAME.exec(this.input.value);
    if (!match) {
      this.close();
      return;
    }
    const typed = match[1].toLowerCase();
    for (const option of this.options) option.hidden = !option.dataset.command.startsWith(typed);
    const shown = this.visible();
    if (!shown.length) {
      this.close();
      return;
    }
    const wasOpen = this.isOpen;
    this.box.hidden = false;
    this.select(shown.includes(this.active) ? this.active : shown[0]);
    if (!wasOpen || this.status.dataset.count !== String(shown.length)) {
      this.status.dataset.count = String(shown.length);
      this.status.textContent =
        `${shown.length} command${shown.length === 1 ? "" : "s"}: ` +
        "up and down to choose, Tab to complete.";
    }
  }

  select(option) {
    if (this.active) this.active.setAttribute("aria-selected", "false");
    this.active = option;
    option.setAttribute("aria-selected", "true");
    this.input.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView?.({ block: "nearest" });
  }

  move(step) {
    const shown = this.visible();
    const at = shown.indexOf(this.active);
    this.select(shown[(at + step + shown.length) % shown.length]);
  }

  /** Put "/name " in the composer, ready for its arguments. */
  complete(option = this.active) {
    if (!option) return;
    this.input.value = `/${option.dataset.command} `;
    this.close();
    this.input.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
    this.input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  close() {
    if (this.active) this.active.setAttribute("aria-selected", "false");
    this.active = null;
    this.box.hidden = true;
    this.input.removeAttribute("aria-activedescendant");
    this.status.textContent = "";
    delete this.status.dataset.count;
  }

  /** A key pressed in the composer while the list is open; true if it was the list's. */
  key(event) {
    if (!this.isOpen) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      this.move(event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Tab" || (event.key === "Enter" && !event.shiftKey)) {
      this.complete();
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }
}
