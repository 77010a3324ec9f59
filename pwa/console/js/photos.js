// Photos from the field in the main courante: a thumbnail that opens the picture. The API wants the session's
// token, which an <img src> cannot send: each photo is fetched once, with it, and shown from a blob: URL.

import { fetchFile } from "./api.js";
import { esc } from "./util.js";

const ready = new Map(); // attachment id -> blob: URL
const pending = new Map(); // attachment id -> Promise

function load(id) {
  if (!pending.has(id)) {
    pending.set(id, fetchFile(`/api/v1/attachments/${id}`).then(({ blob }) => {
      const url = URL.createObjectURL(blob);
      ready.set(id, url);
      return url;
    }).catch((error) => {
      pending.delete(id); // tried again at the next redraw
      throw error;
    }));
  }
  return pending.get(id);
}

/** The thumbnail of a photo entry of the trace ("" for any other entry). */
export function photoThumb(entry) {
  const id = Number(entry.data?.attachment_id);
  if (entry.kind !== "response.photo" || !id) return "";
  const caption = entry.data.caption ? ` : ${entry.data.caption}` : "";
  const src = ready.get(id);
  return `<button type="button" class="photo-thumb" data-photo="${id}" title="Voir la photo en grand"
      aria-label="${esc(`Voir la photo${caption}`)}"><img alt="${esc(`Photo du terrain${caption}`)}" data-photo-img="${id}"${
        src ? ` src="${esc(src)}"` : ""}></button>`;
}

/** Fill the thumbnails not shown yet. */
export function showPhotos(root) {
  for (const img of root.querySelectorAll("img[data-photo-img]:not([src])")) {
    const id = Number(img.dataset.photoImg);
    load(id).then((url) => {
      if (img.isConnected) img.src = url;
    }).catch(() => {
      if (img.isConnected) img.closest(".photo-thumb")?.classList.add("unavailable");
    });
  }
}

/** A click on a thumbnail shows the photo in a dialog (Escape or « Fermer » closes it). */
export function wirePhotoViewer(root) {
  const dialog = document.createElement("dialog");
  dialog.className = "photo-dialog";
  dialog.innerHTML = `<div class="rd-head"><h2>Photo du terrain</h2><span class="spacer"></span>
      <button type="button" class="small ghost" data-photo-close>Fermer</button></div>
    <p class="photo-caption muted"></p><img class="photo-full" alt="">`;
  root.append(dialog);
  root.addEventListener("click", async (click) => {
    if (click.target.closest("[data-photo-close]")) return dialog.close();
    const thumb = click.target.closest("[data-photo]");
    if (!thumb) return;
    const id = Number(thumb.dataset.photo);
    const full = dialog.querySelector(".photo-full");
    full.alt = thumb.querySelector("img")?.alt || "Photo du terrain";
    dialog.querySelector(".photo-caption").textContent = full.alt;
    full.removeAttribute("src");
    dialog.showModal();
    try {
      full.src = await load(id);
    } catch (error) {
      dialog.querySelector(".photo-caption").textContent = `Photo indisponible : ${error.french || error.message}`;
    }
  });
}
