// notify-settings.js: quick changes are saved one at a time, so the last answer wins.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { parseHTML } from "linkedom";

import { save } from "../../static/js/notify-settings.js";

function form() {
  const { document } = parseHTML(`<html><body><form data-channel-id="c1">
    <input type="radio" name="notify" value="mentions" checked>
    <input type="radio" name="notify" value="all">
    <input type="checkbox" name="muted">
    <p data-notify-error></p></form></body></html>`);
  globalThis.document = document;
  return document.querySelector("form");
}

describe("save", () => {
  it("sends a change only after the previous one was answered, with the form as it is then", async () => {
    const settings = form();
    const sent = [];
    const answers = [];
    globalThis.fetch = (_path, init) => {
      sent.push(JSON.parse(init.body));
      return new Promise((resolve) => answers.push(resolve));
    };
    const applied = [];
    const sidebar = { items: new Map([["c1", {}]]), setSettings: (_item, m) => applied.push(m) };
    const reply = (body) => ({ ok: true, status: 200, json: async () => body });

    // linkedom's :checked reads the attribute: set it as a click on the radio group would.
    settings.querySelector('input[value="mentions"]').removeAttribute("checked");
    settings.querySelector('input[value="all"]').setAttribute("checked", "");
    const first = save(settings, sidebar);
    settings.querySelector('input[name="muted"]').checked = true;
    const second = save(settings, sidebar);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(sent.length, 1, "the second change waits for the first answer");

    answers[0](reply(sent[0]));
    await first;
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[1], { muted: true, notify: "all" });
    answers[1](reply(sent[1]));
    await second;
    assert.deepEqual(applied.at(-1), { muted: true, notify: "all" });
  });
});
