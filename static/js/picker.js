// Choosing people by name: a combobox that suggests users as you type (GET /api/users/?q=,
// prefix match on username or display name) and keeps the chosen ones as removable chips.

import { api } from "./api.js";
import { avatarColour, initials, shownName } from "./people.js";
import { element } from "./render.js";

const DEBOUNCE_MS = 150;

/** Suggestions worth showing: not yourself, not already chosen or excluded. */
export function suggestable(users, { exclude = [] } = {}) {
  const skip = new Set(exclude.map(String));
  return users.filter((user) => !skip.has(String(user.id)));
}

export class Picker {
  /** `exclude()` lists user ids never to suggest (you, people already in the channel). */
  constructor(root, { exclude = () => [], max = Infinity, onChange = () => {} } = {}) {
    this.root = root;
    this.input = root.querySelector("[role=combobox]");
    this.list = root.querySelector("[role=listbox]");
    this.chips = root.querySelector("[data-picked]");
    this.exclude = exclude;
    this.max = max;
    this.onChange = onChange;
    this.picked = new Map();
    this.options = [];
    this.active = -1;
    this.timer = null;
    this.asked = 0;
    this.input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.suggest(), DEBOUNCE_MS);
    });
    this.input.addEventListener("keydown", (event) => this.onKey(event));
    this.input.addEventListener("blur", () => setTimeout(() => this.hide(), 150));
    this.list.addEventListener("mousedown", (event) => event.preventDefault());
    this.list.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) this.pick(this.options[Number(option.dataset.index)]);
    });
    this.chips.addEventListener("click", (event) => {
      const button = event.target.closest("[data-unpick]");
      if (button) this.unpick(button.dataset.unpick);
    });
  }

  ids() {
    return [...this.picked.keys()];
  }

  clear() {
    this.picked.clear();
    this.chips.replaceChildren();
    this.input.value = "";
    this.hide();
  }

  async suggest() {
    const query = this.input.value.trim();
    if (!query) {
      this.hide();
      return;
    }
    const asked = ++this.asked;
    let users;
    try {
      const answer = await api("GET", `/api/users/?q=${encodeURIComponent(query)}`);
      users = answer.results || answer;
    } catch {
      users = [];
    }
    if (asked !== this.asked) return; // a later keystroke asked again
    this.show(suggestable(users, { exclude: [...this.exclude(), ...this.ids()] }));
  }

  show(users) {
    this.options = users;
    const id = this.list.id;
    this.list.replaceChildren(
      ...users.map((user, index) => {
        const option = element("li", "suggestion");
        option.id = `${id}-${index}`;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.dataset.index = String(index);
        const avatar = element("span", "avatar avatar-small", initials(shownName(user)));
        avatar.dataset.colour = String(avatarColour(user.id));
        avatar.setAttribute("aria-hidden", "true");
        option.append(avatar, element("span", "suggestion-name", shownName(user)));
        if (user.display_name && user.display_name !== user.username) {
          option.append(element("span", "suggestion-handle", `@${user.username}`));
        }
        return option;
      }),
    );
    if (!users.length) this.list.append(element("li", "suggestion-empty", "No one found"));
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.select(users.length ? 0 : -1);
  }

  hide() {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.active = -1;
  }

  select(index) {
    this.active = index;
    for (const option of this.list.querySelectorAll("[role=option]")) {
      option.setAttribute("aria-selected", String(Number(option.dataset.index) === index));
    }
    if (index >= 0) this.input.setAttribute("aria-activedescendant", `${this.list.id}-${index}`);
    else this.input.removeAttribute("aria-activedescendant");
  }

  onKey(event) {
    const open = !this.list.hidden && this.options.length > 0;
    if (event.key === "ArrowDown" && open) {
      event.preventDefault();
      this.select((this.active + 1) % this.options.length);
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      this.select((this.active - 1 + this.options.length) % this.options.length);
    } else if (event.key === "Enter" && open && this.active >= 0) {
      event.preventDefault();
      this.pick(this.options[this.active]);
    } else if (event.key === "Escape" && !this.list.hidden) {
      event.preventDefault();
      event.stopPropagation();
      this.hide();
    } else if (event.key === "Backspace" && !this.input.value && this.picked.size) {
      this.unpick(this.ids().at(-1));
    }
  }

  pick(user) {
    if (!user || this.picked.size >= this.max) return;
    const id = String(user.id);
    this.picked.set(id, user);
    const chip = element("li", "chip", shownName(user));
    chip.dataset.userId = id;
    const remove = element("button", "chip-remove", "×");
    remove.type = "button";
    remove.dataset.unpick = id;
    remove.setAttribute("aria-label", `Remove ${shownName(user)}`);
    chip.append(remove);
    this.chips.append(chip);
    this.input.value = "";
    this.hide();
    this.input.focus();
    this.onChange();
  }

  unpick(id) {
    this.picked.delete(String(id));
    const chip = this.chips.querySelector(`[data-user-id="${CSS.escape(String(id))}"]`);
    if (chip) chip.remove();
    this.input.focus();
    this.onChange();
  }
}

