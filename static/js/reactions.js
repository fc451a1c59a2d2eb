// Reactions in the room: the chips toggle your reaction (POST or DELETE through the REST API),
// and "React" opens a small picker of common emoji (a plain grid, no network, no CDN). Arrow
// keys move in the grid, Enter or Space picks, Escape closes; focus goes back to the button
// that opened it. This module loads on the first click on React (rich-messages.js).

// [emoji, name]: a vendored set of the reactions teams use most.
export const COMMON_EMOJI = [
  ["👍", "thumbs up"],
  ["👎", "thumbs down"],
  ["😄", "grinning face"],
  ["🎉", "party popper"],
  ["❤️", "red heart"],
  ["🚀", "rocket"],
  ["👀", "eyes"],
  ["🙏", "folded hands"],
  ["😂", "tears of joy"],
  ["😮", "open mouth"],
  ["😢", "crying face"],
  ["😡", "enraged face"],
  ["🔥", "fire"],
  ["✅", "check mark"],
  ["❌", "cross mark"],
  ["💯", "hundred points"],
  ["👏", "clapping hands"],
  ["🤔", "thinking face"],
  ["🙌", "raising hands"],
  ["💡", "light bulb"],
  ["⭐", "star"],
  ["☕", "hot beverage"],
  ["🐛", "bug"],
  ["🍕", "pizza"],
];
const COLUMNS = 6;

export class EmojiPicker {
  constructor() {
    this.node = document.createElement("div");
    this.node.className = "emoji-picker";
    this.node.setAttribute("role", "dialog");
    this.node.setAttribute("aria-label", "Pick a reaction");
    this.node.hidden = true;
    const grid = document.createElement("div");
    grid.className = "emoji-grid";
    for (const [emoji, name] of COMMON_EMOJI) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "emoji-choice";
      button.dataset.emoji = emoji;
      button.setAttribute("aria-label", name);
      button.textContent = emoji;
      grid.append(button);
    }
    this.node.append(grid);
    this.buttons = [...grid.querySelectorAll("button")];
    this.opener = null;
    this.onPick = null;
    grid.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-emoji]");
      if (button) this.pick(button.dataset.emoji);
    });
    this.node.addEventListener("keydown", (event) => this.keydown(event));
    this.node.addEventListener("focusout", (event) => {
      if (!this.node.contains(event.relatedTarget)) this.close(false);
    });
    document.body.append(this.node);
  }

  open(opener, onPick) {
    this.opener = opener;
    this.onPick = onPick;
    this.node.hidden = false;
    const box = opener.getBoundingClientRect();
    const width = this.node.offsetWidth;
    const height = this.node.offsetHeight;
    const left = Math.max(8, Math.min(box.right - width, window.innerWidth - width - 8));
    const below = box.bottom + 4 + height < window.innerHeight;
    this.node.style.left = `${left}px`;
    this.node.style.top = `${below ? box.bottom + 4 : Math.max(8, box.top - height - 4)}px`;
    this.buttons[0].focus();
  }

  close(returnFocus = true) {
    if (this.node.hidden) return;
    this.node.hidden = true;
    if (returnFocus && this.opener && this.opener.isConnected) this.opener.focus();
  }

  pick(emoji) {
    const onPick = this.onPick;
    this.close();
    if (onPick) onPick(emoji);
  }

  keydown(event) {
    const index = this.buttons.indexOf(document.activeElement);
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    if (event.key === "Escape") {
      event.preventDefault();
      this.close();
    } else if (event.key in moves && index >= 0) {
      event.preventDefault();
      const next = Math.min(this.buttons.length - 1, Math.max(0, index + moves[event.key]));
      this.buttons[next].focus();
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      this.buttons[event.key === "Home" ? 0 : this.buttons.length - 1].focus();
    }
  }
}
