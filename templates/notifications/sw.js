// chatsite's service worker (docs/web.md, "Notifications"): shows the Web Push notifications
// the worker sends for direct messages and mentions, and opens the message on a click.
// Served at /sw.js so that its scope is the whole site.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { title: "chatsite", body: event.data ? event.data.text() : "" };
  }
  const url = typeof data.url === "string" ? new URL(data.url, self.location.origin) : null;
  const sameSite = url && url.origin === self.location.origin;
  event.waitUntil(
    self.registration.showNotification(data.title || "chatsite", {
      body: data.body || "",
      tag: data.tag || undefined,
      data: { url: sameSite ? url.href : self.location.origin + "/" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        if (client.url === target && "focus" in client) return client.focus();
      }
      return self.clients.openWindow(target);
    })(),
  );
});
