// The composer's preview: the server renders the text exactly as it would a message
// (POST /api/chat/preview/); the page never renders Markdown itself.

import { API, api } from "./api.js";

const root = document.querySelector('[data-chat-page="room"]');
const button = root && root.querySelector("[data-preview]");
if (button) {
  const output = root.querySelector("[data-preview-output]");
  const input = document.getElementById("composer-input");
  button.addEventListener("click", async () => {
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
  });
}
