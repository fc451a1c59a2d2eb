// The channel list page's script (templates/chat/channel_list.html): live unread badges.
import { ChannelList } from "./channel-list.js";

const root = document.querySelector('[data-chat-page="channels"]');
if (root) window.chatsiteChannels = new ChannelList(root);
