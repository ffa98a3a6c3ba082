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
// Test connection on the server form: posted in the background, so the
// typed fields (secrets included, which a page never shows again) stay
// as they are; the page's answer is parsed inert and its result section
// (escaped by the server) shown under the form. When the fields are
// refused, the form is submitted to show the errors on their fields.
document.addEventListener("click", async (ev) => {
  const b = ev.target.closest("button[data-test-connection]");
  if (!b || !b.form || !window.fetch || !window.DOMParser) return;
  ev.preventDefault();
  const form = b.form;
  const label = b.textContent;
  b.disabled = true;
  b.textContent = "Testing…";
  try {
    const r = await fetch(b.formAction, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" });
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    const got = doc.getElementById("connection-test");
    if (!r.ok || !got || got.hasAttribute("data-bad-fields")) {
      form.action = b.formAction;
      form.submit();
      return;
    }
    const old = document.getElementById("connection-test");
    if (old) old.remove();
    const shown = document.importNode(got, true);
    form.after(shown);
    // Focus moves to the result (scrolled to, and read out).
    shown.tabIndex = -1;
    shown.focus();
  } catch (e) {
    form.action = b.formAction;
    form.submit();
  } finally {
    b.disabled = false;
    b.textContent = label;
  }
});
