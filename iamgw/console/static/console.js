// iamgw console: copy buttons and session countdowns. No build step, no dependencies.
"use strict";

function copyText(id, button) {
  const node = document.getElementById(id);
  if (!node) return;
  const text = node.innerText;
  const done = () => {
    const before = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = before; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => selectNode(node));
  } else {
    selectNode(node);
    try { document.execCommand("copy"); done(); } catch (e) { /* selected for the user */ }
  }
}

function selectNode(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

function tick() {
  const now = Date.now() / 1000;
  for (const node of document.querySelectorAll(".countdown[data-expires]")) {
    const left = Math.max(0, Math.floor(Number(node.dataset.expires) - now));
    if (left === 0) {
      node.textContent = "expired";
      continue;
    }
    const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    node.textContent = `${h}h ${String(m).padStart(2, "0")}m ${String(s).padStart(2, "0")}s left`;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    button.addEventListener("click", () => copyText(button.dataset.copy, button));
  }
  tick();
  setInterval(tick, 1000);
});
