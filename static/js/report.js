// "Report message": a dialog with the reasons and optional words for the moderators, then a
// confirmation in the page's toast (docs/web.md, "Reports"). Loaded on first use by
// rich-messages.js, so the room's first load does not carry it.

import { API, api } from "./api.js";
import { bindDialog } from "./dialog.js";

const QUOTE_LENGTH = 160;
const TOAST_MS = 6000;

/** Show `text` in the page's polite status region for a few seconds. */
export function toast(text) {
  const region = document.getElementById("toast");
  if (!region) return;
  region.textContent = text;
  clearTimeout(region.hideTimer);
  region.hideTimer = setTimeout(() => {
    region.textContent = "";
  }, TOAST_MS);
}

function excerpt(node) {
  const author = node.querySelector(".message-author")?.textContent.trim() || "";
  const text = (node.querySelector(".message-body")?.textContent || "").replace(/\s+/g, " ").trim();
  const short = text.length > QUOTE_LENGTH ? `${text.slice(0, QUOTE_LENGTH - 1)}…` : text;
  return author ? `${author}: ${short}` : short;
}

export class ReportDialog {
  constructor(dialog = document.getElementById("report-dialog")) {
    this.dialog = dialog;
    this.form = dialog.querySelector("[data-report-form]");
    this.error = dialog.querySelector("[data-error]");
    this.quote = dialog.querySelector("[data-report-quote]");
    this.submit = this.form.querySelector('button[type="submit"]');
    this.controls = bindDialog(dialog);
    this.messageId = null;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
  }

  /** Open the dialog for the message `node` (an article with data-id). */
  open(node) {
    this.messageId = node.dataset.id;
    this.form.reset();
    this.error.textContent = "";
    this.quote.textContent = excerpt(node);
    this.controls.open(this.form.querySelector('input[name="reason"]'));
  }

  async send() {
    const data = new FormData(this.form);
    const reason = data.get("reason");
    if (!reason) {
      this.error.textContent = "Choose why you are reporting this message.";
      this.form.querySelector('input[name="reason"]').focus();
      return;
    }
    this.submit.disabled = true;
    try {
      await api("POST", `${API}/messages/${this.messageId}/report/`, {
        reason,
        detail: String(data.get("detail") || ""),
      });
      this.controls.close();
      toast("Thanks. The moderators have your report.");
    } catch (failure) {
      this.error.textContent = `Could not report it: ${failure.message}`;
    } finally {
      this.submit.disabled = false;
    }
  }
}
