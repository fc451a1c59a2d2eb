// The channel list page's script (templates/chat/channel_list.html): live unread badges and
// the sidebar.
import { App } from "./app.js";
import { ChannelList } from "./channel-list.js";

const app = new App();
const root = document.querySelector('[data-chat-page="channels"]');
if (root) window.chatsiteChannels = new ChannelList(root, app);
