// What a message needs before it leaves the page: a client id and the server's length rule.
// No DOM here.

/** A random UUID (v4). crypto.randomUUID needs a secure context; plain-HTTP hosts do not. */
export function newClientId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Code points, as the server counts them (not UTF-16 units). */
export function codePoints(text) {
  return [...text].length;
}

/** Why the composer refuses this text ("" when it may go), and the reason it records; with
 * `hasFiles`, the files may go without text. */
export function composerError(content, maxLength, hasFiles = false) {
  const length = codePoints(content);
  if (!content.trim() && !(hasFiles && content === "")) {
    return { text: "Type a message first.", reason: "empty" };
  }
  if (length > maxLength) {
    return {
      text: `The message is ${length} characters long; the limit is ${maxLength}.`,
      reason: "length",
    };
  }
  return { text: "", reason: "" };
}

/** Whether a failed REST post is final (refused) rather than worth a Retry. */
export function isFinalRefusal(status) {
  return Boolean(status) && status >= 400 && status < 500 && status !== 429;
}
