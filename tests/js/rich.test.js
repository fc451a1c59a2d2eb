// rich.js: reaction chips and the thread summary, on a DOM of their own (linkedom).
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import { parseHTML } from "linkedom";

import { renderReactions, repliesText, showReplyCount } from "../../static/js/rich.js";

describe("rich message parts", () => {
  let document;

  before(() => {
    ({ document } = parseHTML(
      '<article><div class="reactions" hidden></div><button class="thread-summary" hidden></button></article>',
    ));
    globalThis.document = document;
  });

  it("says reply and replies", () => {
    assert.equal(repliesText(1), "1 reply");
    assert.equal(repliesText(0), "0 replies");
    assert.equal(repliesText(12), "12 replies");
  });

  it("renders a chip per emoji in order, pressed where you reacted, emoji as text", () => {
    const container = document.querySelector(".reactions");
    renderReactions(
      container,
      [
        { emoji: "👍", count: 2, user_ids: ["1", "7"] },
        { emoji: "<b>x</b>", count: 1, user_ids: ["3"] },
      ],
      "7",
    );
    const chips = container.querySelectorAll("button.reaction");
    assert.equal(container.hidden, false);
    assert.equal(chips.length, 2);
    assert.equal(chips[0].getAttribute("aria-pressed"), "true");
    assert.equal(chips[1].getAttribute("aria-pressed"), "false");
    assert.equal(chips[1].querySelector("b"), null);
    assert.equal(chips[1].querySelector(".reaction-emoji").textContent, "<b>x</b>");
    renderReactions(container, [], "7");
    assert.equal(container.hidden, true);
    assert.equal(container.children.length, 0);
  });

  it("shows and hides the thread summary with the count", () => {
    const article = document.querySelector("article");
    showReplyCount(article, 3);
    const summary = article.querySelector(".thread-summary");
    assert.equal(summary.hidden, false);
    assert.equal(summary.textContent, "3 replies");
    showReplyCount(article, 0);
    assert.equal(summary.hidden, true);
  });
});
