// What rich messages add to a rendered message: the server's HTML body, reaction chips and the
// thread summary. The markup matches templates/chat/_message_rich.html (tests/js check it).
// The body is HTML that the server rendered and sanitized (chat/rendering.py); the page never
// renders Markdown itself.

export function repliesText(count) {
  return count === 1 ? "1 reply" : `${count} replies`;
}

/** The reaction chips of `reactions` ([{emoji, count, user_ids}]), yours pressed. */
export function renderReactions(container, reactions, userId) {
  container.replaceChildren();
  for (const reaction of reactions || []) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "reaction";
    button.dataset.emoji = reaction.emoji;
    const mine = (reaction.user_ids || []).map(String).includes(String(userId));
    button.setAttribute("aria-pressed", mine ? "true" : "false");
    const emoji = document.createElement("span");
    emoji.className = "reaction-emoji";
    emoji.textContent = reaction.emoji;
    const count = document.createElement("span");
    count.className = "reaction-count";
    count.textContent = String(reaction.count);
    button.append(emoji, count);
    container.append(button);
  }
  container.hidden = !(reactions && reactions.length);
}

const SIZE_UNITS = ["KB", "MB", "GB", "TB"];
const PREVIEW_MAX_WIDTH = 360;
const PREVIEW_MAX_HEIGHT = 240;

/** A file size as the server's pages write it (Django's filesizeformat). */
export function formatSize(bytes) {
  const size = Number(bytes) || 0;
  if (size < 1024) return `${size}\u00a0${size === 1 ? "byte" : "bytes"}`;
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)}\u00a0${SIZE_UNITS[unit]}`;
}

/** The box an image preview takes (web/templatetags/rich_messages.py, preview_box). */
export function previewBox(file) {
  const width = Number(file.width) || PREVIEW_MAX_WIDTH;
  const height = Number(file.height) || PREVIEW_MAX_HEIGHT;
  const scale = Math.min(1, PREVIEW_MAX_WIDTH / width, PREVIEW_MAX_HEIGHT / height);
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

function fileIcon() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", "#icon-file");
  svg.append(use);
  return svg;
}

/** A message's files: image previews (opening the lightbox) and chips with name and size. */
export function renderAttachments(container, attachments) {
  container.replaceChildren();
  for (const file of attachments || []) {
    const link = document.createElement("a");
    link.href = file.url;
    if (file.thumbnail_url) {
      link.className = "attachment attachment-image";
      link.dataset.name = file.name;
      link.target = "_blank";
      link.rel = "noopener";
      const image = document.createElement("img");
      const box = previewBox(file);
      image.src = file.thumbnail_url;
      image.alt = file.name;
      image.setAttribute("width", String(box.width));
      image.setAttribute("height", String(box.height));
      image.setAttribute("loading", "lazy");
      link.append(image);
    } else {
      link.className = "attachment attachment-file";
      link.setAttribute("download", file.name);
      const name = document.createElement("span");
      name.className = "attachment-name";
      name.textContent = file.name;
      const size = document.createElement("span");
      size.className = "attachment-size";
      size.textContent = formatSize(file.size);
      link.append(fileIcon(), name, " ", size);
    }
    container.append(link);
  }
  container.hidden = !(attachments && attachments.length);
}

/** Fill an article cloned from the message template with `message`'s rich parts. */
export function renderRich(article, message, userId) {
  article.querySelector(".message-body").innerHTML = message.rendered || "";
  renderAttachments(article.querySelector(".attachments"), message.attachments);
  renderReactions(article.querySelector(".reactions"), message.reactions, userId);
  const summary = article.querySelector(".thread-summary");
  const replies = Number(message.reply_count) || 0;
  summary.textContent = repliesText(replies);
  summary.hidden = replies === 0;
}

/** A reply's event changed its parent's thread: show the new count on the parent. */
export function showReplyCount(article, count) {
  const summary = article.querySelector(".thread-summary");
  if (!summary) return;
  summary.textContent = repliesText(count);
  summary.hidden = count === 0;
}
