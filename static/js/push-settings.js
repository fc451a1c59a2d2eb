// The "Enable push notifications" control of the notification settings page (docs/web.md,
// "Notifications"): registers /sw.js, asks for permission from the click, subscribes with the
// server's VAPID key and stores the subscription through the REST API; the same button turns
// it off again.
import { api } from "./api.js";

const ENDPOINT = "/api/notifications/push-subscriptions/";
const STORED_ID = "chatsite.push-subscription-id";

/** The VAPID key (base64url) as the bytes PushManager.subscribe wants. */
export function keyBytes(base64url) {
  const padded = base64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (base64url.length % 4)) % 4);
  const raw = atob(padded);
  return Uint8Array.from(raw, (char) => char.charCodeAt(0));
}

export function pushSupported(scope = globalThis) {
  return Boolean(scope.navigator && "serviceWorker" in scope.navigator && "PushManager" in scope && "Notification" in scope);
}

class PushSettings {
  constructor(root) {
    this.root = root;
    this.key = root.dataset.publicKey;
    this.status = root.querySelector("[data-push-status]");
    this.button = root.querySelector("[data-push-toggle]");
    this.registration = null;
    this.button.addEventListener("click", () => this.toggle());
  }

  say(text) {
    this.status.textContent = text;
  }

  async start() {
    if (!pushSupported()) {
      this.say("This browser cannot receive push notifications.");
      return;
    }
    this.registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    await this.show();
  }

  async show() {
    const subscription = await this.registration.pushManager.getSubscription();
    const on = Boolean(subscription && localStorage.getItem(STORED_ID));
    if (Notification.permission === "denied") {
      this.say("Notifications are blocked for this site in your browser's settings.");
      this.button.hidden = true;
      return;
    }
    this.say(on ? "Push notifications are on for this browser." : "Push notifications are off for this browser.");
    this.button.textContent = on ? "Disable push notifications" : "Enable push notifications";
    this.button.setAttribute("aria-pressed", String(on));
    this.button.hidden = false;
  }

  async toggle() {
    this.button.disabled = true;
    try {
      const subscription = await this.registration.pushManager.getSubscription();
      if (subscription && localStorage.getItem(STORED_ID)) await this.disable(subscription);
      else await this.enable(subscription);
    } catch (error) {
      this.say(`Could not change push notifications: ${error.message}`);
      this.button.disabled = false;
      return;
    }
    this.button.disabled = false;
    await this.show();
  }

  async enable(existing) {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") throw new Error("permission was not given");
    const subscription =
      existing ||
      (await this.registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(this.key),
      }));
    const saved = await api("POST", ENDPOINT, subscription.toJSON());
    localStorage.setItem(STORED_ID, saved.id);
  }

  async disable(subscription) {
    const id = localStorage.getItem(STORED_ID);
    localStorage.removeItem(STORED_ID);
    try {
      await api("DELETE", `${ENDPOINT}${id}/`);
    } catch (error) {
      if (error.status !== 404) throw error;
    }
    await subscription.unsubscribe();
  }
}

const root = typeof document !== "undefined" ? document.querySelector("[data-push-settings]") : null;
if (root && root.dataset.publicKey) {
  new PushSettings(root).start().catch((error) => {
    root.querySelector("[data-push-status]").textContent = `Push notifications are unavailable: ${error.message}`;
  });
}
