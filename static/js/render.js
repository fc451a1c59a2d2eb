// One way to render a message: clone the page's <template id="message-template">, which the
// server renders from templates/chat/_message.html, the partial of every server-rendered
// message, so live and server-rendered messages cannot differ. No other module builds one.

import { renderRich } from "./rich.js";

const timeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

export function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : timeFormat.format(date);
}

/** Server-rendered times are UTC; show them in the reader's time zone. */
export function localizeTimes(container) {
  for (const time of container.querySelectorAll("time[datetime]")) {
    const text = formatTime(time.getAttribute("datetime"));
    if (text) time.textContent = text;
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

/** A message from an event, an ack or the REST API, as the server would render it for userId. */
export function renderMessage(template, message, userId) {
  const article = clone(template);
  if (String(message.user_id) !== userId) {
    article.classList.remove("message-own");
    article.querySelector(".message-actions").remove();
  }
  article.id = `m-${message.id}`;
  article.dataset.id = message.id;
  article.dataset.seq = message.seq;
  article.dataset.changeSeq = message.change_seq;
  article.dataset.userId = message.user_id;
  const author = message.author || {};
  article.querySelector(".message-author").textContent =
    author.display_name || author.username || "";
  const time = article.querySelector(".message-time");
  time.setAttribute("datetime", message.created_at);
  time.textContent = formatTime(message.created_at);
  article.querySelector(".message-edited").hidden = !message.edited_at;
  renderRich(article, message, userId);
  return article;
}

/** Your message on its way: no id yet, "Sending…" where the time goes, no actions. */
export function renderPending(template, { clientId, userName, content }) {
  const article = clone(template);
  for (const name of ["id", "data-id", "data-seq", "data-change-seq", "data-user-id"]) {
    article.removeAttribute(name);
  }
  article.classList.add("message-pending");
  article.dataset.clientId = clientId;
  article.querySelector(".message-author").textContent = userName;
  article.querySelector(".message-time").replaceWith(element("span", "message-status", "Sending…"));
  article.querySelector(".message-edited").remove();
  article.querySelector(".message-actions").remove();
  for (const part of article.querySelectorAll(".reactions, .thread-summary, .message-tools")) {
    part.remove();
  }
  article.querySelector(".message-body").textContent = content;
  return article;
}
