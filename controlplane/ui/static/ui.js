// mcpgw admin UI: progressive enhancement only; every page works without
// it. Loaded as a file (the Content-Security-Policy allows no inline
// script).
"use strict";
document.addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-copy]");
  if (!b) return;
  const input = document.getElementById(b.dataset.copy);
  if (!input) return;
  input.select();
  const done = () => { b.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, () => { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});
document.addEventListener("submit", (ev) => {
  const msg = ev.target.dataset && ev.target.dataset.confirm;
  if (msg && !window.confirm(msg)) ev.preventDefault();
});
// The server form shows the fields of the chosen transport.
function showTransport() {
  const sel = document.getElementById("transport");
  if (!sel) return;
  for (const el of document.querySelectorAll("[data-transports]")) {
    el.hidden = !el.dataset.transports.split(" ").includes(sel.value);
  }
}
document.addEventListener("change", (ev) => { if (ev.target.id === "transport") showTransport(); });
document.addEventListener("DOMContentLoaded", showTransport);
