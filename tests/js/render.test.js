// render.js against the server: a message rendered from the room page's <template> must match,
// attribute for attribute, the same message as the server rendered it in that page. The page
// and the API's JSON for its messages come from tests/unit/test_js_units.py, which runs this
// suite with CHATSITE_ROOM_FIXTURE set; run alone (node --test tests/js/) this file is skipped.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";

import { parseHTML } from "linkedom";

import { localizeTimes, renderMessage, renderPending } from "../../static/js/render.js";

const fixture = process.env.CHATSITE_ROOM_FIXTURE;

/** The parts that can differ but mean the same: spacing between tags, and ISO spellings. */
function comparable(node) {
  const copy = node.cloneNode(true);
  // Groups are the log's business (timeline.js), not the message's.
  copy.classList.remove("message-continued");
  for (const time of copy.querySelectorAll("time[datetime]")) {
    time.setAttribute("datetime", String(Date.parse(time.getAttribute("datetime"))));
  }
  const attributes = (element) =>
    [...element.attributes].map((attribute) => [attribute.name, attribute.value]).sort();
  const walk = (element) => ({
    tag: element.tagName,
    attributes: attributes(element),
    text: element.children.length ? null : element.textContent,
    children: [...element.children].map(walk),
  });
  return walk(copy);
}

describe("renderMessage", { skip: fixture ? false : "needs CHATSITE_ROOM_FIXTURE" }, () => {
  let document;
  let template;
  let messages;
  let userId;

  before(() => {
    ({ document } = parseHTML(readFileSync(join(fixture, "room.html"), "utf8")));
    globalThis.document = document;
    messages = JSON.parse(readFileSync(join(fixture, "messages.json"), "utf8")).results;
    template = document.getElementById("message-template");
    userId = document.querySelector("[data-chat-page]").dataset.userId;
    localizeTimes(document.getElementById("message-log"));
  });

  it("the page carries the template and server-rendered messages of both kinds", () => {
    assert.ok(template, "no <template id=message-template> in the room page");
    const shown = document.querySelectorAll("#message-log .message");
    assert.equal(shown.length, messages.length);
    assert.ok(document.querySelector("#message-log .message-own"));
    assert.ok(document.querySelector("#message-log .message:not(.message-own)"));
  });

  it("renders every message exactly as the server rendered it", () => {
    for (const message of messages) {
      const server = document.getElementById(`m-${message.id}`);
      assert.ok(server, `message ${message.id} is not on the page`);
      assert.deepEqual(comparable(renderMessage(template, message, userId)), comparable(server));
    }
  });

  it("shows the server's rendered HTML, never the content as markup", () => {
    const message = {
      ...messages[0],
      content: "<img src=x onerror=alert(1)>",
      rendered: "<p>&lt;img src=x onerror=alert(1)&gt;</p>",
    };
    const node = renderMessage(template, message, userId);
    assert.equal(node.querySelector("img"), null);
    assert.equal(node.querySelector(".message-body p").textContent, message.content);
  });

  it("renders reaction chips, yours pressed, and the thread summary", () => {
    const withRich = messages.find((message) => message.reactions.length && message.reply_count);
    assert.ok(withRich, "the fixture has a message with reactions and replies");
    const node = renderMessage(template, withRich, userId);
    const chips = node.querySelectorAll(".reaction");
    assert.equal(chips.length, withRich.reactions.length);
    for (const [index, reaction] of withRich.reactions.entries()) {
      assert.equal(chips[index].dataset.emoji, reaction.emoji);
      assert.equal(chips[index].querySelector(".reaction-count").textContent, String(reaction.count));
      const mine = reaction.user_ids.includes(userId);
      assert.equal(chips[index].getAttribute("aria-pressed"), String(mine));
    }
    const summary = node.querySelector(".thread-summary");
    assert.equal(summary.hidden, false);
    assert.match(summary.textContent, /^\d+ repl(y|ies)$/);
  });

  it("leaves the template itself untouched", () => {
    const before = template.innerHTML;
    renderMessage(template, messages[0], userId);
    renderPending(template, { clientId: "c", userName: "Alice", content: "x" });
    assert.equal(template.innerHTML, before);
  });

  it("renders a pending message with no id, a Sending… status and no actions", () => {
    const pending = { clientId: "abc", userName: "Alice A", content: "hi\nthere" };
    const node = renderPending(template, pending);
    assert.deepEqual([...node.classList], ["message", "message-own", "message-pending"]);
    assert.equal(node.dataset.clientId, "abc");
    assert.equal(node.getAttribute("id"), null);
    assert.equal(node.dataset.id, undefined);
    assert.equal(node.querySelector(".message-author").textContent, "Alice A");
    assert.equal(node.querySelector(".message-status").textContent, "Sending…");
    assert.equal(node.querySelector(".message-body").textContent, "hi\nthere");
    assert.equal(node.querySelector("time, .message-edited, .message-actions"), null);
  });
});
