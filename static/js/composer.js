// The composer and your messages on their way. A message goes over the WebSocket
// (`message.send`) when it is open, and through POST /api/chat/messages otherwise or when no
// ack comes in time. Both carry the same client_id, so a retry never doubles a message.

import { API, api } from "./api.js";
import { codePoints, composerError, isFinalRefusal, newClientId } from "./outgoing.js";
import { element, hiddenText, renderPending } from "./render.js";

// "/name ..." is a slash command (chat/commands.py); "//..." sends the text with one slash.
const COMMAND = /^\/[A-Za-z][A-Za-z0-9_-]*(?:[ \t\n]|$)/;

const TYPING_EVERY_MS = 3000;
const ACK_TIMEOUT_MS = 8000;

export class Composer {
  /** `show(node)` puts a pending message in the log; `sent(message)` shows it for real. */
  constructor({ form, channelId, userId, userName, maxLength, template, connection, show, sent, reveal }) {
    this.form = form;
    this.channelId = channelId;
    this.userId = userId;
    this.userName = userName;
    this.reveal = reveal || (() => {});
    this.maxLength = maxLength;
    this.template = template;
    this.connection = connection;
    this.show = show;
    this.sent = sent;
    this.input = document.getElementById("composer-input");
    this.counter = document.getElementById("composer-counter");
    this.error = document.getElementById("composer-error");
    this.pending = new Map();
    this.lastTypingSent = 0;
    this.uploads = null;
    this.uploadsLoading = null;
    if (form) {
      this.bind();
      this.bindFiles();
    }
  }

  // --- files: the attach button, drag and drop, pasting; uploads.js loads on first use

  bindFiles() {
    this.fileInput = this.form.querySelector("#composer-files");
    this.fileList = this.form.querySelector(".composer-uploads");
    if (!this.fileInput || !this.fileList) return;
    this.fileInput.addEventListener("change", () => {
      const files = [...this.fileInput.files];
      this.fileInput.value = "";
      if (files.length) this.attach(files);
    });
    this.input.addEventListener("paste", (event) => {
      const files = [...(event.clipboardData ? event.clipboardData.files : [])];
      if (!files.length) return;
      event.preventDefault();
      this.attach(files);
    });
    const zone = this.form.closest(".conversation") || this.form;
    const hasFiles = (event) => [...(event.dataTransfer ? event.dataTransfer.types : [])].includes("Files");
    zone.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      zone.classList.add("drop-target");
    });
    zone.addEventListener("dragleave", (event) => {
      if (!zone.contains(event.relatedTarget)) zone.classList.remove("drop-target");
    });
    zone.addEventListener("drop", (event) => {
      zone.classList.remove("drop-target");
      if (!hasFiles(event)) return;
      event.preventDefault();
      this.attach([...event.dataTransfer.files]);
    });
  }

  /** Start uploading `files`, loading the upload module the first time. */
  attach(files) {
    this.uploadsLoading ||= import("./uploads.js").then(({ Uploads }) => {
      this.uploads = new Uploads({
        list: this.fileList,
        maxBytes: Number(this.form.dataset.maxUpload),
        changed: () => this.setError(""),
      });
      return this.uploads;
    });
    this.uploadsLoading.then(
      (uploads) => uploads.add(files),
      (failure) => this.setError(`Files cannot be attached: ${failure.message}`, "files"),
    );
  }

  /** commands.js (the command list and runner), loaded when a "/" is first typed. */
  loadCommands() {
    this.commandsLoading ||= import("./commands.js").then((module) => {
      this.commands = new module.CommandList(this.input);
      this.runCommand = module.runCommand;
      return this.commands;
    });
    return this.commandsLoading;
  }

  bind() {
    this.input.addEventListener("keydown", (event) => {
      if (this.commands && !event.isComposing && this.commands.key(event)) return;
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => {
      this.updateCounter();
      this.sendTyping();
      if (this.commands) this.commands.update();
      else if (this.input.value.startsWith("/")) {
        this.loadCommands().then(
          (commands) => commands.update(),
          () => {}, // without the list, commands still run on send
        );
      }
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.updateCounter();
  }

  updateCounter() {
    const length = codePoints(this.input.value);
    this.counter.textContent = `${length}/${this.maxLength}`;
    this.counter.dataset.over = String(length > this.maxLength);
    const lines = this.input.value.split("\n").length;
    this.input.rows = Math.min(6, Math.max(1, lines));
    if (length <= this.maxLength && this.error.dataset.reason === "length") this.setError("");
  }

  setError(text, reason = "") {
    this.error.textContent = text;
    this.error.dataset.reason = reason;
    if (text) this.input.setAttribute("aria-invalid", "true");
    else this.input.removeAttribute("aria-invalid");
  }

  sendTyping() {
    const now = Date.now();
    if (!this.input.value.trim() || now - this.lastTypingSent < TYPING_EVERY_MS) return;
    if (this.connection.send({ type: "typing", channel_id: this.channelId })) {
      this.lastTypingSent = now;
    }
  }

  submit() {
    const content = this.input.value;
    if (this.uploads && this.uploads.busy()) {
      this.setError("Wait until your files have uploaded, or cancel them.", "files");
      return;
    }
    const attachmentIds = this.uploads ? this.uploads.ids() : [];
    const refusal = composerError(content, this.maxLength, attachmentIds.length > 0);
    if (refusal.text) {
      this.setError(refusal.text, refusal.reason);
      return;
    }
    this.setError("");
    if (COMMAND.test(content)) {
      this.command(content);
      return;
    }
    const item = { clientId: newClientId(), content, attachmentIds, failed: false, timer: null };
    const shown = content.trim() ? content : this.uploads.names().join(", ");
    item.node = renderPending(this.template, {
      ...item,
      content: shown,
      userId: this.userId,
      userName: this.userName,
    });
    if (this.uploads) this.uploads.clear();
    item.status = item.node.querySelector(".message-status");
    this.pending.set(item.clientId, item);
    this.show(item.node);
    this.input.value = "";
    this.updateCounter();
    this.lastTypingSent = 0;
    this.deliver(item);
  }

  /** Run a slash command; its message (/me, /shrug) shows like any other. */
  async command(text) {
    try {
      await this.loadCommands();
      const result = await this.runCommand(this.channelId, text);
      this.input.value = "";
      this.updateCounter();
      this.commands.close();
      if (result.message) this.sent(result.message);
      if (result.command === "leave") window.location.assign("/");
    } catch (failure) {
      this.setError(failure.message, "command");
    }
  }

  /** After every welcome: unsent for want of a connection goes again; refused ones wait. */
  resend() {
    for (const item of this.pending.values()) {
      if (!item.failed || item.retryable) this.deliver(item);
    }
  }

  deliver(item) {
    clearTimeout(item.timer);
    item.failed = false;
    item.retryable = false;
    item.node.classList.remove("message-failed");
    const actions = item.node.querySelector(".message-actions");
    if (actions) actions.remove();
    item.status.textContent = "Sending…";
    const frame = {
      type: "message.send",
      channel_id: this.channelId,
      content: item.content,
      client_id: item.clientId,
    };
    if (item.attachmentIds.length) frame.attachment_ids = item.attachmentIds;
    if (this.connection.send(frame)) {
      item.timer = setTimeout(() => this.deliverByRest(item), ACK_TIMEOUT_MS);
    } else {
      this.deliverByRest(item);
    }
  }

  async deliverByRest(item) {
    if (!this.pending.has(item.clientId)) return;
    try {
      const body = { channel_id: this.channelId, content: item.content, client_id: item.clientId };
      if (item.attachmentIds.length) body.attachment_ids = item.attachmentIds;
      const message = await api("POST", `${API}/messages`, body);
      this.confirm(item.clientId, message);
    } catch (error) {
      const final = isFinalRefusal(error.status);
      this.fail(item, final ? error.message : "Not sent yet: no connection.", !final);
    }
  }

  /** The server has the message (ack, REST reply or event): false when it was not ours. */
  confirm(clientId, message) {
    const item = this.pending.get(clientId);
    if (!item || !message) return false;
    clearTimeout(item.timer);
    this.pending.delete(clientId);
    item.node.remove();
    this.sent(message);
    const stillFailing = [...this.pending.values()].some((other) => other.failed);
    if (!stillFailing && this.error.dataset.reason === "send") this.setError("");
    return true;
  }

  /** An `error` event about one of ours: true when it was. */
  refused(event) {
    const item = event.ref ? this.pending.get(event.ref) : undefined;
    if (!item) return false;
    const retryable = event.code === "rate_limited" || event.code === "unavailable";
    this.fail(item, event.detail || "Not sent.", retryable);
    return true;
  }

  fail(item, detail, retryable) {
    clearTimeout(item.timer);
    item.failed = true;
    item.retryable = retryable;
    item.node.classList.add("message-failed");
    item.status.textContent = detail;
    if (!item.node.querySelector("[data-action]")) {
      const actions = element("div", "message-actions");
      if (retryable) actions.append(actionButton("retry", "Retry", " sending"));
      actions.append(actionButton("discard", "Discard", " unsent message"));
      item.node.append(actions);
    }
    this.setError(`Your message was not sent: ${detail}`, "send");
    // The error line makes the log shorter: keep the failed message and its buttons in view.
    this.reveal(item.node);
  }

  /** The Retry or Discard button on a message that was not sent. */
  retryOrDiscard(node, action) {
    const item = this.pending.get(node.dataset.clientId);
    if (!item) return;
    node.querySelector(".message-actions").remove();
    this.setError("");
    if (action === "retry") {
      this.deliver(item);
    } else {
      this.pending.delete(item.clientId);
      node.remove();
    }
    this.input.focus();
  }
}

function actionButton(action, label, hidden) {
  const button = element("button", "button button-small", label);
  button.type = "button";
  button.dataset.action = action;
  button.append(hiddenText(hidden));
  return button;
}
