// The room's notification settings (the members panel), loaded on their first change: each
// change is saved at once (PATCH /api/chat/channels/{id}/membership/) and the sidebar dims or
// brightens the conversation.

import { API, api } from "./api.js";

// One save at a time per form, each reading the form when its turn comes: two quick changes
// (a notify level, then mute) sent at once could be answered out of order, and the older
// answer would undo the newer one in the sidebar.
const queues = new WeakMap();

export function save(form, sidebar) {
  const next = (queues.get(form) || Promise.resolve()).then(() => send(form, sidebar));
  queues.set(form, next);
  return next;
}

async function send(form, sidebar) {
  const error = form.querySelector("[data-notify-error]");
  const checked = form.querySelector('input[name="notify"]:checked');
  const body = { muted: form.querySelector('input[name="muted"]').checked };
  if (checked) body.notify = checked.value;
  error.textContent = "";
  try {
    const membership = await api(
      "PATCH",
      `${API}/channels/${encodeURIComponent(form.dataset.channelId)}/membership/`,
      body,
    );
    const item = sidebar && sidebar.items.get(form.dataset.channelId);
    if (item) sidebar.setSettings(item, membership);
  } catch (failure) {
    error.textContent = failure.message;
  }
}
