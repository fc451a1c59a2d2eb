// timeline.js: day dividers and author groups in the log.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { parseHTML } from "linkedom";

import {
  GROUP_WITHIN_MS,
  continuesGroup,
  dayKey,
  dayLabel,
  decorateLog,
} from "../../static/js/timeline.js";

const NOW = new Date(2026, 11, 4, 15, 0);

describe("dayLabel", () => {
  it("says Today and Yesterday, then the date", () => {
    assert.equal(dayLabel(new Date(2026, 11, 4, 0, 1), NOW), "Today");
    assert.equal(dayLabel(new Date(2026, 11, 3, 23, 59), NOW), "Yesterday");
    const older = dayLabel(new Date(2026, 10, 20, 12, 0), NOW);
    assert.match(older, /20/);
    assert.doesNotMatch(older, /2026/);
  });

  it("adds the year for another year, and Yesterday works across a month", () => {
    assert.match(dayLabel(new Date(2025, 5, 1), NOW), /2025/);
    assert.equal(dayLabel(new Date(2026, 10, 30), new Date(2026, 11, 1, 9)), "Yesterday");
  });

  it("keys days by the local calendar", () => {
    assert.equal(dayKey(new Date(2026, 0, 5, 23, 59)), "2026-01-05");
  });
});

describe("continuesGroup", () => {
  const at = (minutes, userId = "1", deleted = false) => ({
    userId,
    deleted,
    time: new Date(NOW.getTime() + minutes * 60000),
  });

  it("groups one author's messages within a few minutes", () => {
    assert.equal(continuesGroup(at(0), at(4)), true);
    assert.equal(continuesGroup(at(0), at(GROUP_WITHIN_MS / 60000 + 1)), false);
  });

  it("never across authors, tombstones, or the first message", () => {
    assert.equal(continuesGroup(at(0, "1"), at(1, "2")), false);
    assert.equal(continuesGroup(at(0, "1", true), at(1)), false);
    assert.equal(continuesGroup(null, at(1)), false);
  });

  it("never across the names a webhook's bot posts under", () => {
    const as = (minutes, shownAs) => ({ ...at(minutes), shownAs });
    assert.equal(continuesGroup(as(0, "Jenkins|🚧"), as(1, "Monitoring|🔥")), false);
    assert.equal(continuesGroup(as(0, "Jenkins|🚧"), as(1, "Jenkins|🚧")), true);
  });
});

function log(messages) {
  const { document } = parseHTML(`<div id="log">${messages}</div>`);
  return document.getElementById("log");
}

const message = (id, userId, iso) =>
  `<article class="message" id="m-${id}" data-user-id="${userId}"><time datetime="${iso}"></time></article>`;

describe("decorateLog", () => {
  const html = [
    message(1, "a", "2026-12-03T10:00:00"),
    message(2, "a", "2026-12-03T10:02:00"),
    message(3, "b", "2026-12-03T10:03:00"),
    message(4, "b", "2026-12-04T09:00:00"),
    '<div class="unread-divider"></div>',
    message(5, "b", "2026-12-04T09:01:00"),
    message(6, "b", "2026-12-04T09:02:00"),
  ].join("");

  it("puts a divider before each day and groups runs of one author", () => {
    const node = log(html);
    decorateLog(node, NOW);
    const dividers = [...node.querySelectorAll(".day-divider")];
    assert.deepEqual(
      dividers.map((divider) => divider.textContent),
      ["Yesterday", "Today"],
    );
    assert.equal(dividers[1].nextElementSibling.id, "m-4");
    const continued = [...node.querySelectorAll(".message-continued")].map((m) => m.id);
    // m-5 follows the "New messages" line: it starts a group again.
    assert.deepEqual(continued, ["m-2", "m-6"]);
  });

  it("is idempotent and keeps the dividers that are right (the log is aria-live)", () => {
    const node = log(html);
    decorateLog(node, NOW);
    const first = node.querySelector(".day-divider");
    decorateLog(node, NOW);
    assert.equal(node.querySelectorAll(".day-divider").length, 2);
    assert.equal(node.querySelector(".day-divider"), first);
  });

  it("drops a divider whose day has no message left and regroups after a tombstone", () => {
    const node = log(html);
    decorateLog(node, NOW);
    node.querySelector("#m-4").remove();
    node.querySelector("#m-5").remove();
    node.querySelector("#m-6").remove();
    node.querySelector(".unread-divider").remove();
    decorateLog(node, NOW);
    assert.equal(node.querySelectorAll(".day-divider").length, 1);
    node.querySelector("#m-1").classList.add("message-deleted");
    decorateLog(node, NOW);
    assert.equal(node.querySelector("#m-2").classList.contains("message-continued"), false);
  });
});
