// Behaviour shared by every console page: the htmx dialog, copy and reveal buttons, small helpers.
(function () {
  "use strict";

  // Validation errors (400), refusals (403) and missing objects (404) come back as page fragments
  // worth showing in place; only server failures are reported as an alert.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "40[034]", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
  ];

  const modal = () => document.getElementById("modal");

  // A fragment swapped into the dialog opens it; its size follows the fragment's data-size.
  document.addEventListener("htmx:afterSwap", (event) => {
    const dialog = modal();
    if (!dialog || event.detail.target.id !== "modal-content") return;
    const body = event.detail.target.firstElementChild;
    dialog.classList.toggle("wide", !!(body && body.dataset.size === "wide"));
    if (!dialog.open) dialog.showModal();
    const first = dialog.querySelector("[autofocus], input:not([type=hidden]):not([readonly]), select, textarea");
    if (first) first.focus();
  });

  document.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    window.alert(`The request failed (${xhr.status}). ${xhr.responseText.slice(0, 300)}`);
  });

  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-close-modal]");
    if (target) {
      event.preventDefault();
      modal().close();
      return;
    }
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      event.preventDefault();
      const field = document.getElementById(copy.dataset.copy);
      const text = field.dataset.secret || field.value || field.textContent;
      navigator.clipboard.writeText(text).then(() => flash(copy, "Copied"), () => {
        field.select && field.select();
        flash(copy, "Press Ctrl+C");
      });
      return;
    }
    const reveal = event.target.closest("[data-reveal]");
    if (reveal) {
      event.preventDefault();
      const field = document.getElementById(reveal.dataset.reveal);
      const shown = field.value === field.dataset.secret;
      field.value = shown ? field.dataset.masked : field.dataset.secret;
      reveal.textContent = shown ? "Show" : "Hide";
    }
  });

  // Close the dialog when its content asks for it (after a successful write without a reload).
  document.body.addEventListener("closeModal", () => modal().close());

  function flash(button, text) {
    const before = button.textContent;
    button.textContent = text;
    setTimeout(() => { button.textContent = before; }, 1200);
  }

  // Close open dropdown menus when clicking elsewhere.
  document.addEventListener("click", (event) => {
    document.querySelectorAll("details.menu[open]").forEach((menu) => {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  window.eas = { flash };
})();
