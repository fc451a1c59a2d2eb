// Files on their way into a message: one chip per file in the composer, with a progress bar
// while it uploads (POST /api/chat/uploads/), a preview once it is an image, and a button that
// cancels the upload or takes the file back. Loaded on first use (attach, drop or paste): the
// room page does not carry it (docs/web.md, "Weight").

import { API, api, csrfToken } from "./api.js";
import { formatSize } from "./rich.js";

const UPLOADS = `${API}/uploads/`;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A name for a pasted screenshot, which arrives as "image.png" or without one. */
function fileName(file) {
  if (file.name && file.name !== "image.png") return file.name;
  const stamp = new Date().toISOString().slice(0, 19).replace("T", " ").replaceAll(":", ".");
  const extension = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
  return `Screenshot ${stamp}.${extension}`;
}

export class Uploads {
  /** `list` is the composer's <ul>; `maxBytes` the server's limit; `changed()` after each step. */
  constructor({ list, maxBytes, changed }) {
    this.list = list;
    this.maxBytes = maxBytes;
    this.changed = changed || (() => {});
    this.items = [];
  }

  add(files) {
    for (const file of files) this.start(file);
    this.list.hidden = this.items.length === 0;
    this.changed();
  }

  /** Whether any file is still uploading. */
  busy() {
    return this.items.some((item) => item.state === "uploading");
  }

  /** The ids of the uploaded files, in the order they were added. */
  ids() {
    return this.items.filter((item) => item.state === "done").map((item) => item.upload.id);
  }

  /** What the uploaded files are, for the message shown while it is on its way. */
  names() {
    return this.items.filter((item) => item.state === "done").map((item) => item.name);
  }

  /** The message went: its files are its now. */
  clear() {
    for (const item of this.items) item.chip.remove();
    this.items = [];
    this.list.hidden = true;
    this.changed();
  }

  start(file) {
    const name = fileName(file);
    const item = { name, state: "uploading", upload: null, request: null };
    item.chip = element("li", "upload-chip");
    item.chip.dataset.state = "uploading";
    const label = element("span", "upload-name", name);
    const size = element("span", "upload-size", formatSize(file.size));
    item.progress = element("progress", "upload-progress");
    item.progress.max = 100;
    item.progress.value = 0;
    item.progress.setAttribute("aria-label", `Uploading ${name}`);
    item.status = element("span", "upload-status");
    item.status.setAttribute("role", "status");
    item.button = element("button", "button button-small upload-cancel", "Cancel");
    item.button.type = "button";
    item.button.setAttribute("aria-label", `Cancel the upload of ${name}`);
    item.button.addEventListener("click", () => this.remove(item));
    item.chip.append(label, size, item.progress, item.status, item.button);
    this.list.append(item.chip);
    this.items.push(item);
    if (file.size > this.maxBytes) {
      this.failed(item, `Too large: at most ${formatSize(this.maxBytes)}.`);
      return;
    }
    if (file.size === 0) {
      this.failed(item, "The file is empty.");
      return;
    }
    this.send(item, file);
  }

  send(item, file) {
    const body = new FormData();
    body.append("file", file, item.name);
    const request = new XMLHttpRequest();
    item.request = request;
    request.open("POST", UPLOADS);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-CSRFToken", csrfToken());
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) item.progress.value = Math.round((100 * event.loaded) / event.total);
    });
    request.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(request.responseText);
      } catch {
        data = null;
      }
      if (request.status === 201 && data) this.done(item, data);
      else this.failed(item, data && data.error ? data.error.detail : `Upload failed (${request.status}).`);
    });
    request.addEventListener("error", () => this.failed(item, "Upload failed: no connection."));
    request.send(body);
  }

  done(item, upload) {
    item.state = "done";
    item.upload = upload;
    item.chip.dataset.state = "done";
    item.progress.remove();
    if (upload.thumbnail_url) {
      const preview = element("img", "upload-preview");
      preview.src = upload.thumbnail_url;
      preview.alt = "";
      item.chip.prepend(preview);
    }
    item.status.textContent = "Ready";
    item.button.textContent = "Remove";
    item.button.setAttribute("aria-label", `Remove ${item.name}`);
    this.changed();
  }

  failed(item, detail) {
    item.state = "failed";
    item.chip.dataset.state = "failed";
    item.progress.remove();
    item.status.textContent = detail;
    item.button.textContent = "Remove";
    item.button.setAttribute("aria-label", `Remove ${item.name}`);
    this.changed();
  }

  remove(item) {
    if (item.state === "uploading" && item.request) item.request.abort();
    if (item.state === "done") {
      // Withdrawn before any message carried it; if this fails, the server's sweep removes it.
      api("DELETE", `${UPLOADS}${item.upload.id}/`).catch(() => {});
    }
    item.state = "removed";
    const next = item.chip.nextElementSibling || item.chip.previousElementSibling;
    item.chip.remove();
    this.items = this.items.filter((other) => other !== item);
    this.list.hidden = this.items.length === 0;
    const focusable = next && next.querySelector("button");
    if (focusable) focusable.focus();
    else document.getElementById("composer-input").focus();
    this.changed();
  }
}
