// The room page's script (templates/chat/room.html): the room view on the page's elements.
import { Room } from "./room.js";

const root = document.querySelector('[data-chat-page="room"]');
if (root) window.chatsiteRoom = new Room(root, document.getElementById("message-template"));
