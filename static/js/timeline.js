// The shape of the log: a divider before each new day ("Today", "Yesterday", a date) and
// consecutive messages of one author within a few minutes drawn as one group, like Slack.
// The server renders the same on first load (web/views.py); this keeps it right as the log
// changes and in the reader's time zone.

export const GROUP_WITHIN_MS = 5 * 60 * 1000;

/** The local calendar day of a time, as YYYY-MM-DD. */
export function dayKey(date) {
  const pad = (value) => String(value).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

const sameYear = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric" });
const otherYear = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "long", day: "numeric" });

/** "Today", "Yesterday", or the date (with the year when it is not this year's). */
export function dayLabel(date, now = new Date()) {
  const key = dayKey(date);
  if (key === dayKey(now)) return "Today";
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  if (key === dayKey(yesterday)) return "Yesterday";
  return (date.getFullYear() === now.getFullYear() ? sameYear : otherYear).format(date);
}

/** Does `message` continue the group of `previous`? Both {userId, time (Date), deleted}. */
export function continuesGroup(previous, message) {
  if (!previous || previous.deleted || message.deleted) return false;
  if (previous.userId !== message.userId) return false;
  // A webhook's bot posts under the names its callers choose: each name is its own group.
  if (previous.shownAs !== message.shownAs) return false;
  const gap = message.time - previous.time;
  return gap >= 0 && gap <= GROUP_WITHIN_MS && dayKey(previous.time) === dayKey(message.time);
}

function describe(node) {
  const time = node.querySelector("time[datetime]");
  const date = time ? new Date(time.getAttribute("datetime")) : new Date();
  return {
    userId: node.dataset.userId || "",
    shownAs: `${node.querySelector(".message-author")?.textContent}|${node.querySelector(".avatar")?.textContent}`,
    time: Number.isNaN(date.getTime()) ? new Date() : date,
    deleted: node.classList.contains("message-deleted"),
  };
}

function divider(doc, key, label) {
  const node = doc.createElement("div");
  node.className = "day-divider";
  node.dataset.day = key;
  const text = doc.createElement("span");
  text.className = "day-divider-label";
  text.textContent = label;
  node.append(text);
  return node;
}

/**
 * Put day dividers and groups right across the whole log; idempotent. A divider that is
 * already right stays (the log is aria-live: a node put back would be announced again).
 */
export function decorateLog(log, now = new Date()) {
  const doc = log.ownerDocument;
  const wanted = new Set();
  let previous = null;
  let broken = false; // something other than a message since the previous one
  let lastDivider = null;
  for (const node of [...log.children]) {
    if (node.classList.contains("day-divider")) {
      lastDivider = node;
      continue;
    }
    if (!node.classList.contains("message")) {
      broken = true;
      continue;
    }
    const current = describe(node);
    const key = dayKey(current.time);
    if (!previous || dayKey(previous.time) !== key) {
      const label = dayLabel(current.time, now);
      let mark = lastDivider && !wanted.has(lastDivider) && lastDivider.dataset.day === key ? lastDivider : null;
      if (!mark) {
        mark = divider(doc, key, label);
        node.before(mark);
      } else if (mark.textContent !== label) {
        mark.firstChild.textContent = label;
      }
      wanted.add(mark);
      broken = true;
    }
    node.classList.toggle("message-continued", !broken && continuesGroup(previous, current));
    previous = current;
    broken = false;
    lastDivider = null;
  }
  for (const node of log.querySelectorAll(".day-divider")) if (!wanted.has(node)) node.remove();
}
