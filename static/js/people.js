// People as the pages draw them: initials on a colour fixed per user (the same rules as
// web/templatetags/chat_ui.py, so live and server-rendered avatars match).

export const AVATAR_COLOURS = 8;
const HASH_MODULUS = 1000003;

export function avatarColour(userId) {
  let value = 0;
  for (const character of String(userId)) {
    value = (value * 31 + character.codePointAt(0)) % HASH_MODULUS;
  }
  return value % AVATAR_COLOURS;
}

export function initials(name) {
  const words = String(name).replace(/[_.]/g, " ").split(/\s+/).filter(Boolean);
  if (!words.length) return "?";
  if (words.length === 1) return [...words[0]].slice(0, 2).join("").toUpperCase();
  return ([...words[0]][0] + [...words[1]][0]).toUpperCase();
}

export function shownName(user) {
  return (user && (user.display_name || user.username)) || "";
}
