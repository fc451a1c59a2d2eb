// The script of signed-in pages without a view of their own: the sidebar, kept live.
import { App } from "./app.js";
import { Connection } from "./connection.js";

const app = new App();
if (app.sidebar) {
  new Connection({
    heartbeatSeconds: 30,
    onEvent: (event) => app.handle(event),
    onOpen: (welcome) => app.opened(welcome),
    onState: () => {},
  }).connect();
}
