// The members panel: add people by name (with suggestions), remove them, leave, and edit the
// title and topic. Owners of a channel and moderators manage it; everyone may leave.

import { API, api } from "./api.js";
import { bindDialog, confirmAction } from "./dialog.js";
import { avatarColour, initials, shownName } from "./people.js";
import { Picker } from "./picker.js";
import { element, hiddenText } from "./render.js";

export class Members {
  constructor(root, { channelId, channelName, userId, onUpdated }) {
    this.root = root;
    this.panel = root.querySelector('[data-panel="members"]');
    this.list = root.querySelector("[data-member-list]");
    this.channelId = channelId;
    this.channelName = channelName;
    this.userId = userId;
    this.onUpdated = onUpdated;
    this.manager = root.hasAttribute("data-manager");
    const form = root.querySelector("[data-add-member]");
    if (form) this.bindAdd(form);
    this.details = document.getElementById("details-dialog");
    if (this.details) this.bindDetails();
    this.panel.addEventListener("click", (event) => this.onClick(event));
  }

  /** A click in the panel (also one that came while this module was loading). */
  onClick(event) {
    const remove = event.target.closest("[data-remove-member]");
    const leave = event.target.closest("[data-leave]");
    if (remove) this.remove(remove.dataset.removeMember, remove);
    else if (leave) this.leave(leave);
    else if (event.target.closest("[data-edit-details]")) this.editDetails();
  }

  memberIds() {
    return [...this.list.querySelectorAll(".member")].map((item) => item.dataset.userId);
  }

  bindAdd(form) {
    const error = form.querySelector("[data-error]");
    const picker = new Picker(form.querySelector("[data-picker]"), {
      exclude: () => this.memberIds(),
      onChange: () => {
        error.textContent = "";
      },
    });
    // Typed while this module was loading: suggest for it now.
    if (picker.input.value.trim()) picker.suggest();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const ids = picker.ids();
      if (!ids.length) {
        error.textContent = "Type a name and choose someone first.";
        picker.input.focus();
        return;
      }
      for (const id of ids) {
        try {
          await api("POST", `${API}/channels/${this.channelId}/members/`, { user_id: id });
          this.showMember(picker.picked.get(id));
          picker.unpick(id);
        } catch (failure) {
          error.textContent = failure.message;
          return;
        }
      }
    });
  }

  showMember(user) {
    if (!user || this.list.querySelector(`[data-user-id="${CSS.escape(String(user.id))}"]`)) return;
    const item = element("li", "member");
    item.dataset.userId = String(user.id);
    item.dataset.presence = "offline";
    const avatar = element("span", "avatar avatar-small", initials(shownName(user)));
    avatar.dataset.colour = String(avatarColour(user.id));
    avatar.setAttribute("aria-hidden", "true");
    avatar.append(element("span", "presence-dot"));
    const presence = hiddenText("offline");
    presence.classList.add("presence-text");
    item.append(avatar, element("span", "member-name", shownName(user)), presence);
    if (this.manager) {
      const remove = element("button", "button button-small button-quiet member-remove", "Remove");
      remove.type = "button";
      remove.dataset.removeMember = String(user.id);
      remove.append(hiddenText(` ${shownName(user)}`));
      item.append(remove);
    }
    this.list.append(item);
    this.count();
  }

  count() {
    const count = this.list.querySelectorAll(".member").length;
    for (const node of this.root.querySelectorAll("[data-member-count]")) {
      node.textContent = String(count);
    }
    const heading = this.panel.querySelector(".count");
    if (heading) heading.textContent = `(${count})`;
  }

  async remove(userId, button) {
    const item = button.closest(".member");
    const name = item.querySelector(".member-name").firstChild.textContent.trim();
    const sure = await confirmAction(
      {
        title: `Remove ${name}?`,
        text: `${name} stops seeing this conversation at once. You can add them again later.`,
        action: "Remove",
      },
      { returnTo: this.list },
    );
    if (!sure) return;
    try {
      await api("DELETE", `${API}/channels/${this.channelId}/members/${userId}/`);
      const next = item.nextElementSibling || item.previousElementSibling;
      item.remove();
      this.count();
      const focus = next && next.querySelector("button");
      if (focus) focus.focus();
      else this.list.focus();
    } catch (failure) {
      this.panel.querySelector("[data-members-error]").textContent = failure.message;
    }
  }

  async leave(button) {
    const sure = await confirmAction(
      {
        title: "Leave this conversation?",
        text: this.root.dataset.private !== undefined
          ? "It is private: to come back, someone in it must add you again."
          : "You can join it again from Browse channels.",
        action: "Leave",
      },
      { returnTo: button },
    );
    if (!sure) return;
    try {
      await api("POST", `${API}/channels/${this.channelId}/leave/`);
      window.location.assign("/");
    } catch (failure) {
      this.panel.querySelector("[data-members-error]").textContent = failure.message;
    }
  }

  editDetails() {
    if (!this.modal) return;
    const form = this.details.querySelector("[data-details-form]");
    form.querySelector("[data-error]").textContent = "";
    this.modal.open(form.elements.title);
  }

  bindDetails() {
    const modal = bindDialog(this.details);
    this.modal = modal;
    const form = this.details.querySelector("[data-details-form]");
    const error = form.querySelector("[data-error]");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const channel = await api("PATCH", `${API}/channels/${this.channelId}/`, {
          title: form.elements.title.value,
          topic: form.elements.topic.value,
        });
        modal.close();
        this.onUpdated(channel);
      } catch (failure) {
        error.textContent = failure.message;
      }
    });
  }
}
