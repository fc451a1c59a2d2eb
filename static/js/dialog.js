// Modal dialogs on <dialog>: showModal() traps focus and makes the rest inert; on close the
// focus goes back to where it was (or to `returnTo` when that element is gone).

/** Open a <dialog> whose form has method="dialog"; resolves to the button value it closed with. */
export function ask(dialog, { returnTo } = {}) {
  const opener = document.activeElement;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        resolve(dialog.returnValue || "cancel");
        restoreFocus(opener, returnTo);
      },
      { once: true },
    );
  });
}

export function restoreFocus(opener, fallback) {
  const target = opener && opener.isConnected ? opener : fallback;
  if (target && target.isConnected) target.focus();
}

/** A dialog with its own script-driven form: [data-close] buttons close it, focus returns. */
export function bindDialog(dialog) {
  let opener = null;
  for (const button of dialog.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => dialog.close());
  }
  dialog.addEventListener("close", () => {
    restoreFocus(opener, document.getElementById("main"));
    opener = null;
  });
  // A click on the backdrop (outside the box) closes it, as in Slack's dialogs.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  return {
    open(focus) {
      opener = document.activeElement;
      if (!dialog.open) dialog.showModal();
      if (focus) focus.focus();
    },
    close() {
      if (dialog.open) dialog.close();
    },
  };
}

/** Ask before a destructive action in the page's #confirm-dialog; resolves to true or false. */
export async function confirmAction({ title, text, action }, { returnTo } = {}) {
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector("#confirm-title").textContent = title;
  dialog.querySelector("#confirm-text").textContent = text;
  dialog.querySelector("[data-confirm-label]").textContent = action;
  return (await ask(dialog, { returnTo })) === "confirm";
}
