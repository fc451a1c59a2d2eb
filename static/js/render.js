// One way to render a message: clone the page's <template id="message-template">, which the
// server renders from templates/chat/_message.html, the partial of every server-rendered
// message, so live and server-rendered messages cannot differ. No other module builds one.

import { avatarColour, initials, shownName } from "./people.js";
import { renderRich } from "./rich.js";

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  year: "numeric",
  month: "long",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

function parsed(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The time of day; the day itself is on the day divider above (and in the title). */
export function formatTime(iso) {
  const date = parsed(iso);
  return date ? timeFormat.format(date) : "";
}

export function formatFull(iso) {
  const date = parsed(iso);
  return date ? fullFormat.format(date) : "";
}

function setTime(time, iso) {
  time.setAttribute("datetime", iso);
  time.textContent = formatTime(iso);
  time.title = formatFull(iso);
}

/** Server-rendered times are UTC; show them in the reader's time zone. */
export function localizeTimes(container) {
  for (const time of container.querySelectorAll("time[datetime]")) {
    const iso = time.getAttribute("datetime");
    if (parsed(iso)) setTime(time, iso);
  }
}

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function hiddenText(text) {
  return element("span", "visually-hidden", text);
}

function clone(template) {
  return template.content.firstElementChild.cloneNode(true);
}

function setAvatar(article, userId, name) {
  const avatar = article.querySelector(".avatar");
  avatar.dataset.colour = String(avatarColour(userId));
  avatar.textContent = initials(name);
}

/** Turn a message into its tombstone, as the history keeps it (docs/moderation.md). */
export function markDeleted(article) {
  article.classList.add("message-deleted");
  const body = article.querySelector(".message-body");
  body.textContent = "message deleted";
  for (const part of article.querySelectorAll(
    ".message-actions, .reactions, .thread-summary, .message-tools, .attachments",
  )) {
    part.remove();
  }
  const edited = article.querySelector(".message-edited");
  if (edited) edited.hidden = true;
  const editor = article.querySelector(".message-editor");
  if (editor) editor.remove();
  body.hidden = false;
}

/**
 * A message from an event, an ack or the REST API, as the server would render it for userId;
 * a moderator also gets Delete on other people's messages.
 */
export function renderMessage(template, message, userId, { moderator = false } = {}) {
  const article = clone(template);
  const author = message.author || {};
  const name = shownName(author);
  if (String(message.user_id) !== userId) {
    article.classList.remove("message-own");
    const actions = article.querySelector(".message-actions");
    if (moderator) {
      actions.querySelector('[data-action="edit"]').remove();
      actions.querySelector('[data-action="delete"] .visually-hidden').textContent =
        ` message by ${name}`;
    } else {
      actions.remove();
    }
  } else {
    // Nobody reports their own message.
    article.querySelector('[data-action="report"]')?.remove();
  }
  // A /me message reads as an action of its author.
  article.classList.toggle("message-action", Boolean(message.action));
  article.id = `m-${message.id}`;
  article.dataset.id = message.id;
  article.dataset.seq = message.seq;
  article.dataset.changeSeq = message.change_seq;
  article.dataset.userId = message.user_id;
  setAvatar(article, message.user_id, name);
  if (message.icon_emoji) article.querySelector(".avatar").textContent = message.icon_emoji;
  article.querySelector(".message-author").textContent = name;
  const botBadge = article.querySelector(".badge-bot");
  if (botBadge) botBadge.hidden = !author.is_bot;
  setTime(article.querySelector(".message-time"), message.created_at);
  article.querySelector(".message-edited").hidden = !message.edited_at;
  renderRich(article, message, userId);
  if (message.deleted) markDeleted(article);
  return article;
}

/** Your message on its way: no id yet, "Sending…" where the time goes, no actions. */
export function renderPending(template, { clientId, userId, userName, content }) {
  const article = clone(template);
  for (const name of ["id", "data-id", "data-seq", "data-change-seq", "data-user-id"]) {
    article.removeAttribute(name);
  }
  article.classList.add("message-pending");
  article.dataset.clientId = clientId;
  if (userId) article.dataset.userId = userId;
  setAvatar(article, userId || "", userName);
  article.querySelector(".message-author").textContent = userName;
  article.querySelector(".badge-bot")?.remove();
  article.querySelector(".message-time").replaceWith(element("span", "message-status", "Sending…"));
  article.querySelector(".message-edited").remove();
  article.querySelector(".message-actions").remove();
  for (const part of article.querySelectorAll(".reactions, .thread-summary, .message-tools")) {
    part.remove();
  }
  article.querySelector(".message-body").textContent = content;
  return article;
}
