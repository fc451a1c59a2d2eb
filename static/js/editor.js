// The inline editor of one of your messages: Enter saves, Escape cancels, focus returns to Edit.

import { element } from "./render.js";
import { codePoints } from "./outgoing.js";

/**
 * Edit `node` in place, starting from `content` (the message's source); `save(content,
 * close)` stores the text and closes, or throws; `opened(editor)` brings the open editor
 * into view.
 */
export function openEditor(node, { content: source, maxLength, save, opened = () => {} }) {
  const open = node.querySelector(".message-editor textarea");
  if (open) {
    open.focus();
    return;
  }
  const body = node.querySelector(".message-body");
  const actions = node.querySelector(".message-actions");
  const editor = element("form", "message-editor");
  const fieldId = `edit-${node.dataset.id}`;
  const label = element("label", "visually-hidden", "Edit message");
  label.htmlFor = fieldId;
  const field = element("textarea");
  field.id = fieldId;
  const original = source ?? body.textContent;
  field.value = original;
  field.rows = Math.min(8, Math.max(2, field.value.split("\n").length));
  const error = element("p", "error");
  error.setAttribute("role", "alert");
  const buttons = element("div", "message-actions");
  const saveButton = element("button", "button button-small button-primary", "Save");
  saveButton.type = "submit";
  const cancel = element("button", "button button-small", "Cancel");
  cancel.type = "button";
  buttons.append(saveButton, cancel);
  editor.append(label, field, buttons, error);
  body.hidden = true;
  actions.hidden = true;
  node.append(editor);
  field.focus({ preventScroll: true });
  field.setSelectionRange(field.value.length, field.value.length);
  // Save and Cancel of the last message must not hide below the composer.
  opened(editor);

  const close = () => {
    editor.remove();
    body.hidden = false;
    actions.hidden = false;
    actions.querySelector('[data-action="edit"]').focus();
  };
  const submit = async () => {
    const content = field.value;
    if (!content.trim() || codePoints(content) > maxLength) {
      error.textContent = content.trim()
        ? `The limit is ${maxLength} characters.`
        : "A message cannot be empty. Use Delete to remove it.";
      return;
    }
    if (content === original) {
      close();
      return;
    }
    saveButton.disabled = true;
    try {
      await save(content, close);
    } catch (failure) {
      error.textContent = failure.message;
      saveButton.disabled = false;
      opened(editor);
    }
  };
  editor.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  cancel.addEventListener("click", close);
  field.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
}
