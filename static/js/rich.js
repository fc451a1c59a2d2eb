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

/** Fill an article cloned from the message template with `message`'s rich parts. */
export function renderRich(article, message, userId) {
  article.querySelector(".message-body").innerHTML = message.rendered || "";
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
