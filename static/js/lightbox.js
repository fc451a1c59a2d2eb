// An image attachment at full size over the page: a modal <dialog> (Esc closes it, focus stays
// inside and goes back to the preview that opened it), with the name and a download link.
// Loaded on the first click on a preview.

let dialog = null;

function build() {
  const node = document.createElement("dialog");
  node.className = "lightbox";
  node.setAttribute("aria-labelledby", "lightbox-name");
  node.innerHTML = `
    <figure class="lightbox-figure">
      <img class="lightbox-image" alt="">
      <figcaption class="lightbox-caption">
        <span id="lightbox-name" class="lightbox-name"></span>
        <a class="button button-small lightbox-download" download>Download</a>
        <button type="button" class="button button-small lightbox-close">Close</button>
      </figcaption>
    </figure>`;
  node.querySelector(".lightbox-close").addEventListener("click", () => node.close());
  // A click on the backdrop (the dialog itself, outside the figure) closes it too.
  node.addEventListener("click", (event) => {
    if (event.target === node) node.close();
  });
  document.body.append(node);
  return node;
}

/** Show the image that `link` (an .attachment-image) points to. */
export function openLightbox(link) {
  dialog ||= build();
  const name = link.dataset.name || "";
  const url = link.getAttribute("href");
  const image = dialog.querySelector(".lightbox-image");
  image.src = url;
  image.alt = name;
  dialog.querySelector(".lightbox-name").textContent = name;
  const download = dialog.querySelector(".lightbox-download");
  download.href = url;
  download.setAttribute("download", name);
  dialog.addEventListener("close", () => link.focus(), { once: true });
  dialog.showModal();
  dialog.querySelector(".lightbox-close").focus();
}
