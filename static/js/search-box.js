// The search box in every page's header (templates/chat/_search_box.html): "/" focuses it,
// as in Slack, Zulip and Mattermost, unless one is typing somewhere already.

function typingInto(target) {
  if (!target || typeof target.closest !== "function") return false;
  return target.closest("input, textarea, select, [contenteditable='true']") !== null;
}

export function bindSearchShortcut(doc = document) {
  const input = doc.querySelector("[data-search-box]");
  if (!input) return;
  doc.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typingInto(event.target)) return;
    event.preventDefault();
    input.focus();
    input.select();
  });
}

if (typeof document !== "undefined") bindSearchShortcut();
