// sidebar.js mention pills and title count, desktop-notify.js: which events notify.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { parseHTML } from "linkedom";

import { DesktopNotifier } from "../../static/js/desktop-notify.js";
import { Sidebar } from "../../static/js/sidebar.js";

const item = (id, name, kind, { unread = 0, mentions = 0, notify = "mentions", muted = false } = {}) => `
  <li class="conversation" data-channel-id="${id}" data-name="${name}" data-kind="${kind}" data-last-seq="5" data-notify="${notify}"${muted ? " data-muted" : ""}>
    <a class="conversation-link" href="/channels/${name}/"${id === "c1" ? ' aria-current="page"' : ""}>
      <span class="conversation-name">${name}</span>
      <span class="badge${unread ? "" : " badge-empty"}" data-unread="${unread}"></span>
      <span class="badge badge-mention${mentions ? "" : " badge-empty"}" data-mentions="${mentions}"></span>
    </a>
  </li>`;

const PAGE = `<nav data-sidebar data-user-id="7" data-current-id="c1">
  <a data-mentions-link href="/mentions/">Mentions <span class="badge" data-mention-total="0"></span></a>
  <ul data-list="channel">${item("c1", "general", "channel")}${item("c2", "random", "channel", { mentions: 1 })}${item("c3", "news", "channel", { notify: "all" })}${item("c4", "noise", "channel", { notify: "all", muted: true })}</ul>
  <ul data-list="dm">${item("d1", "dm.x", "dm", { unread: 2, mentions: 2 })}</ul>
</nav>
<template id="sidebar-item-template">${item("", "", "channel")}</template>`;

let sidebar;
let fetched;
let made;
let visibility;

function mention(channelId, { notify = true, id = "m1", userId = "8" } = {}) {
  return {
    type: "mention",
    kind: "user",
    notify,
    message: {
      id,
      channel_id: channelId,
      user_id: userId,
      content: "hey @bob",
      author: { display_name: "Alice", username: "alice" },
    },
  };
}

beforeEach(() => {
  const { document, window } = parseHTML(`<!doctype html><html><head><title>#general · chatsite</title></head><body>${PAGE}</body></html>`);
  globalThis.document = document;
  visibility = "hidden";
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => visibility });
  fetched = [];
  globalThis.fetch = async (url) => {
    fetched.push(url);
    return { ok: true, status: 200, json: async () => [] };
  };
  made = [];
  class FakeNotification extends EventTarget {
    static permission = "granted";
    constructor(title, options) {
      super();
      made.push({ title, ...options, self: this });
    }
    close() {}
  }
  globalThis.window = globalThis;
  globalThis.Notification = FakeNotification;
  window.focus = () => {};
  window.location = { assign: (url) => made.push({ opened: url }) };
  sidebar = new Sidebar(document.querySelector("[data-sidebar]"));
});

const pill = (id) => document.querySelector(`[data-channel-id="${id}"] [data-mentions]`);

describe("Sidebar mentions", () => {
  it("counts channel mentions and DM unread in the title and on Mentions", () => {
    assert.equal(document.title, "(3) #general · chatsite");
    sidebar.handle(mention("c2"));
    assert.equal(pill("c2").dataset.mentions, "2");
    assert.match(pill("c2").textContent, /^2 mentions$/);
    assert.ok(pill("c2").closest("a").classList.contains("has-mentions"));
    assert.equal(document.title, "(4) #general · chatsite");
    assert.equal(document.querySelector("[data-mention-total]").dataset.mentionTotal, "4");
  });

  it("does not count a mention in the room being read, and a read marker clears them", () => {
    sidebar.handle(mention("c1"), { roomVisible: true });
    assert.equal(pill("c1").dataset.mentions, "0");
    sidebar.handle({ type: "read", channel_id: "c2", seq: 5 });
    assert.equal(pill("c2").dataset.mentions, "0");
    assert.equal(document.title, "(2) #general · chatsite");
    sidebar.handle({ type: "read", channel_id: "d1", seq: 5 });
    assert.equal(document.title, "#general · chatsite");
  });

  it("asks the server when a read marker stops short of the mentions, or a conversation is new", () => {
    sidebar.handle({ type: "read", channel_id: "c2", seq: 3 });
    sidebar.handle(mention("c9"));
    assert.equal(fetched.length, 2);
  });

  it("dims a muted conversation and says so", () => {
    const c2 = document.querySelector('[data-channel-id="c2"]');
    sidebar.setSettings(c2, { notify: "none", muted: true });
    assert.ok(c2.hasAttribute("data-muted"));
    assert.equal(c2.dataset.notify, "none");
    assert.match(c2.querySelector(".conversation-muted").textContent, /muted/);
    sidebar.setSettings(c2, { notify: "mentions", muted: false });
    assert.equal(c2.querySelector(".conversation-muted"), null);
  });
});

describe("Desktop notifications", () => {
  it("shows a mention once while hidden, and its click opens the message", () => {
    const notifier = new DesktopNotifier(sidebar);
    notifier.handle(mention("c2"));
    notifier.handle(mention("c2"));
    assert.equal(made.length, 1);
    assert.equal(made[0].title, "Alice in #random");
    assert.equal(made[0].body, "hey @bob");
    made[0].self.dispatchEvent(new Event("click"));
    assert.deepEqual(made[1], { opened: "/channels/random/?m=m1" });
  });

  it("stays quiet when visible, when the event says not to, and for your own messages", () => {
    const notifier = new DesktopNotifier(sidebar);
    notifier.handle(mention("c2", { notify: false }));
    visibility = "visible";
    notifier.handle(mention("c2", { id: "m2" }));
    visibility = "hidden";
    notifier.handle({ type: "message.created", message: { ...mention("c3").message, id: "m3", user_id: "7" } });
    assert.equal(made.length, 0);
  });

  it("shows every message of a conversation set to all, unless it is muted", () => {
    const notifier = new DesktopNotifier(sidebar);
    notifier.handle({ type: "message.created", message: { ...mention("c3").message, id: "m4" } });
    notifier.handle({ type: "message.created", message: { ...mention("c4").message, id: "m5" } });
    notifier.handle({ type: "message.created", message: { ...mention("c1").message, id: "m6" } });
    assert.deepEqual(made.map((n) => n.title), ["Alice in #news"]);
  });

  it("titles a direct message by its author", () => {
    new DesktopNotifier(sidebar).handle(mention("d1", { id: "m7" }));
    assert.equal(made[0].title, "Alice");
    assert.equal(made[0].tag, "chatsite-m7");
  });
});
