// Short confirmations in the corner of the screen.

export function toast(message, kind = "ok") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = document.createElement("div");
  item.className = `toast toast-${kind}`;
  item.textContent = message;
  box.append(item);
  while (box.children.length > 3) box.firstElementChild.remove();
  setTimeout(() => item.classList.add("leaving"), 2600);
  setTimeout(() => item.remove(), 3100);
}
