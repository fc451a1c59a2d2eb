// The composer's preview: the server renders the text exactly as it would a message
// (POST /api/chat/preview/); the page never renders Markdown itself. room.js loads this
// module on the first click on Preview.

import { API, api } from "./api.js";

/** Show the server's rendering of the composer's text in `output`. */
export async function showPreview(root) {
  const output = root.querySelector("[data-preview-output]");
  const input = document.getElementById("composer-input");
  output.hidden = false;
  if (!input.value.trim()) {
    output.textContent = "Nothing to preview yet.";
    return;
  }
  try {
    const { rendered } = await api("POST", `${API}/preview/`, {
      content: input.value,
      channel_id: root.dataset.channelId,
    });
    output.innerHTML = rendered;
  } catch (failure) {
    output.textContent = `No preview: ${failure.message}`;
  }
}
