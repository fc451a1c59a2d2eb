// The room page's script (templates/chat/room.html): the room view and the sidebar.
import { App } from "./app.js";
import { Room } from "./room.js";

const root = document.querySelector('[data-chat-page="room"]');
if (root) {
  let room = null;
  const app = new App({ onRemoved: (channelId) => room && room.removedFrom(channelId) });
  room = new Room(root, document.getElementById("message-template"), app);
  window.chatsiteRoom = room;
}
