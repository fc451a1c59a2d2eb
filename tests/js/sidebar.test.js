// sidebar.js: live unread counts and the conversations a user is in, from every event.
import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";

import { parseHTML } from "linkedom";

import { avatarColour } from "../../static/js/people.js";
import { Sidebar, conversationLabel, dmAvatar } from "../../static/js/sidebar.js";

const item = (id, name, seq, unread = 0) => `
  <li class="conversation" data-channel-id="${id}" data-name="${name}" data-kind="channel" data-last-seq="${seq}">
    <a class="conversation-link" href="/channels/${name}/"${id === "c1" ? ' aria-current="page"' : ""}>
      <svg class="icon"><use href="#icon-hash"></use></svg>
      <span class="conversation-name">${name}</span>
      <span class="badge${unread ? "" : " badge-empty"}" data-unread="${unread}"></span>
    </a>
  </li>`;

const PAGE = `<nav data-sidebar data-user-id="7" data-current-id="c1">
  <ul data-list="channel">${item("c1", "general", 5)}${item("c2", "random", 9, 2)}</ul>
  <ul data-list="dm"></ul><p data-dm-empty>No direct messages yet.</p>
</nav>
<template id="sidebar-item-template">${item("", "", 0)}</template>`;

let sidebar;
let removed;
let fetched;

function created(channelId, seq, userId = "8") {
  return { type: "message.created", seq, message: { channel_id: channelId, user_id: userId } };
}

beforeEach(() => {
  const { document } = parseHTML(`<!doctype html><html><body>${PAGE}</body></html>`);
  globalThis.document = document;
  fetched = [];
  globalThis.fetch = async (url) => {
    fetched.push(url);
    return { ok: true, status: 200, json: async () => ({ results: [] }) };
  };
  removed = [];
  sidebar = new Sidebar(document.querySelector("[data-sidebar]"), {
    onRemoved: (id) => removed.push(id),
  });
});

const badge = (id) => document.querySelector(`[data-channel-id="${id}"] .badge`);

describe("Sidebar counts", () => {
  it("counts other people's new messages in other conversations, in bold", () => {
    sidebar.handle(created("c2", 10));
    sidebar.handle(created("c2", 11));
    assert.equal(badge("c2").dataset.unread, "4");
    assert.match(badge("c2").textContent, /^4 unread$/);
    const link = badge("c2").closest("a");
    assert.ok(link.classList.contains("is-unread"));
  });

  it("ignores replays it has counted, your own messages, and the room you are reading", () => {
    sidebar.handle(created("c2", 9));
    sidebar.handle(created("c2", 10, "7"));
    sidebar.handle(created("c1", 6), { roomVisible: true });
    assert.equal(badge("c2").dataset.unread, "0");
    assert.equal(badge("c1").dataset.unread, "0");
    sidebar.handle(created("c1", 7), { roomVisible: false });
    assert.equal(badge("c1").dataset.unread, "1");
  });

  it("clears a count when the read marker moves in another tab", () => {
    sidebar.handle({ type: "read", channel_id: "c2", seq: 9 });
    assert.equal(badge("c2").dataset.unread, "0");
    assert.ok(badge("c2").classList.contains("badge-empty"));
    assert.equal(badge("c2").closest("a").classList.contains("is-unread"), false);
  });
});

describe("Sidebar conversations", () => {
  it("draws a direct message that arrives, labelled by the other people", () => {
    const dm = {
      id: "d1",
      name: "dm-1",
      kind: "dm",
      is_private: true,
      last_seq: 1,
      unread_count: 1,
      members: [
        { id: "7", username: "me", display_name: "Me" },
        { id: "8", username: "alice", display_name: "Alice" },
      ],
    };
    sidebar.handle({ type: "membership", joined: true, channel: dm });
    const drawn = document.querySelector('[data-list="dm"] [data-channel-id="d1"]');
    assert.ok(drawn);
    assert.equal(drawn.querySelector(".conversation-name").textContent, "Alice");
    assert.equal(drawn.querySelector(".badge").dataset.unread, "1");
    // The other person's avatar: the colour and initials of her messages.
    const avatar = drawn.querySelector(".avatar");
    assert.equal(avatar.textContent, "AL");
    assert.equal(avatar.dataset.colour, String(avatarColour("8")));
    assert.equal(document.querySelector("[data-dm-empty]").hidden, true);
  });

  it("puts a new channel in name order with a lock when private", () => {
    const secret = { id: "c3", name: "phoenix", is_private: true, last_seq: 0 };
    sidebar.handle({ type: "membership", joined: true, channel: secret });
    const names = [...document.querySelectorAll('[data-list="channel"] .conversation-name')];
    assert.deepEqual(names.map((n) => n.textContent), ["general", "phoenix", "random"]);
    const added = document.querySelector('[data-channel-id="c3"]');
    assert.equal(added.querySelector("use").getAttribute("href"), "#icon-lock");
    assert.match(added.textContent, /\(private\)/);
  });

  it("removes a conversation the user was removed from, and says so", () => {
    sidebar.handle({ type: "membership", joined: false, channel: { id: "c2" } });
    assert.equal(document.querySelector('[data-channel-id="c2"]'), null);
    sidebar.handle({ type: "unsubscribed", channel_id: "c1", last_seq: 5 });
    assert.equal(document.querySelector('[data-channel-id="c1"]'), null);
    assert.deepEqual(removed, ["c2", "c1"]);
  });

  it("renames on channel.updated and asks the server about a conversation it does not know", () => {
    sidebar.handle({ type: "channel.updated", channel: { id: "c2", name: "random-2", is_private: true } });
    assert.equal(document.querySelector('[data-channel-id="c2"] .conversation-name').textContent, "random-2");
    sidebar.handle(created("unknown", 1));
    assert.equal(fetched.length, 1);
    assert.match(fetched[0], /\/api\/chat\/channels\//);
  });

  it("gives a group DM its head count as avatar", () => {
    const members = ["7", "8", "9"].map((id) => ({ id, username: `u${id}` }));
    assert.deepEqual(dmAvatar({ kind: "dm", members }, "7"), { colour: 7, text: "3" });
  });

  it("labels a DM from its members and a channel by name", () => {
    const members = [{ user: { id: "7", username: "me" } }, { user: { id: "9", username: "carol", display_name: "" } }];
    assert.equal(conversationLabel({ kind: "dm", name: "x", members }, "7"), "carol");
    assert.equal(conversationLabel({ kind: "channel", name: "general" }, "7"), "general");
  });
});
