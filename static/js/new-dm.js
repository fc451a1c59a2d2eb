// "New message": pick 1–8 people and open the direct message with them (POST /api/chat/dms/
// answers with the new conversation, or the one that already has exactly those people).

import { API, api } from "./api.js";
import { bindDialog } from "./dialog.js";
import { Picker } from "./picker.js";

export const MAX_OTHERS = 8;

export class NewDm {
  constructor({ userId }) {
    this.dialog = document.getElementById("new-dm-dialog");
    this.form = this.dialog.querySelector("[data-new-dm-form]");
    this.error = this.form.querySelector("[data-error]");
    this.modal = bindDialog(this.dialog);
    this.picker = new Picker(this.form.querySelector("[data-picker]"), {
      exclude: () => [userId],
      max: MAX_OTHERS,
      onChange: () => this.setError(""),
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.start();
    });
  }

  open() {
    this.picker.clear();
    this.setError("");
    this.modal.open(this.picker.input);
  }

  setError(text) {
    this.error.textContent = text;
  }

  async start() {
    const userIds = this.picker.ids();
    if (!userIds.length) {
      this.setError("Choose at least one person.");
      this.picker.input.focus();
      return;
    }
    try {
      const dm = await api("POST", `${API}/dms/`, { user_ids: userIds });
      this.modal.close();
      window.location.assign(`/channels/${encodeURIComponent(dm.name)}/`);
    } catch (failure) {
      this.setError(failure.message);
    }
  }
}
