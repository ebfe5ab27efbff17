// The model-source field of the deployment wizard and the add-version dialog: a local upload with
// a progress bar (PUT to the storage API), a picker over the object store, or a public URL. All
// three fill the form's model_path (or processor_path) input. Listeners are on the document, so
// the field also works inside dialogs loaded later.
(function () {
  "use strict";

  function showPanel(widget) {
    const chosen = widget.querySelector("input[type=radio]:checked");
    widget.querySelectorAll("[data-source-panel]").forEach((panel) => {
      panel.hidden = !chosen || panel.dataset.sourcePanel !== chosen.value;
    });
  }

  function initAll(root) {
    root.querySelectorAll("[data-model-source]").forEach(showPanel);
  }

  document.addEventListener("DOMContentLoaded", () => initAll(document));
  document.addEventListener("htmx:load", (event) => initAll(event.detail.elt));

  document.addEventListener("change", (event) => {
    const widget = event.target.closest("[data-model-source]");
    if (!widget) return;
    if (event.target.type === "radio") showPanel(widget);
    if (event.target.matches("[data-upload]") && event.target.files.length) {
      upload(widget, event.target.files[0], event.target);
    }
  });

  // Objects land under uploads/<time>/<file name> in the tenant's repository.
  function upload(widget, file, input) {
    const target = input.dataset.target
      ? document.getElementById(input.dataset.target)
      : widget.querySelector("input[name=model_path]");
    const bar = widget.querySelector("[data-upload-progress]");
    const status = widget.querySelector("[data-upload-status]");
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
    const name = file.name.replace(/[^\w.\-+=@,~() ]/g, "_");
    const path = `uploads/${stamp}/${name}`;
    const form = widget.closest("form");
    const submit = form && form.querySelector("[type=submit]");
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", `/api/v2/storage/objects/${path.split("/").map(encodeURIComponent).join("/")}`);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    bar.hidden = false;
    bar.firstElementChild.style.width = "0%";
    status.textContent = `Uploading ${file.name}…`;
    if (submit) submit.disabled = true;
    xhr.upload.onprogress = (progress) => {
      if (!progress.lengthComputable) return;
      const percent = Math.round((progress.loaded / progress.total) * 100);
      bar.firstElementChild.style.width = `${percent}%`;
      status.textContent = `Uploading ${file.name}: ${percent}%`;
    };
    xhr.onload = () => {
      if (submit) submit.disabled = false;
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (error) { body = { Message: xhr.responseText }; }
      if (xhr.status >= 200 && xhr.status < 300) {
        target.value = body.Uri;
        bar.firstElementChild.style.width = "100%";
        status.textContent = `Uploaded ${file.name} (${formatSize(file.size)}).`;
        status.dataset.done = "true";
      } else {
        status.textContent = `Upload failed: ${body.Message || xhr.status}`;
        bar.hidden = true;
      }
    };
    xhr.onerror = () => {
      if (submit) submit.disabled = false;
      status.textContent = "Upload failed: the connection was lost.";
      bar.hidden = true;
    };
    xhr.send(file);
  }

  document.addEventListener("click", (event) => {
    const browse = event.target.closest("[data-browse]");
    if (browse) {
      event.preventDefault();
      const widget = browse.closest("[data-model-source]");
      list(widget, browse.dataset.browse, "");
      return;
    }
    const folder = event.target.closest("[data-prefix]");
    if (folder) {
      event.preventDefault();
      const widget = folder.closest("[data-model-source]");
      list(widget, widget.querySelector("[data-browse]").dataset.browse, folder.dataset.prefix);
      return;
    }
    const object = event.target.closest("[data-uri]");
    if (object) {
      event.preventDefault();
      const widget = object.closest("[data-model-source]");
      widget.querySelector("input[name=model_path]").value = object.dataset.uri;
      widget.querySelector("[data-picker]").hidden = true;
    }
  });

  async function list(widget, url, prefix) {
    const picker = widget.querySelector("[data-picker]");
    picker.hidden = false;
    picker.textContent = "Loading…";
    const response = await fetch(`${url}?prefix=${encodeURIComponent(prefix)}`, { credentials: "same-origin" });
    picker.innerHTML = await response.text();
  }

  function csrfToken() {
    const headers = document.body.getAttribute("hx-headers");
    return headers ? JSON.parse(headers)["X-CSRFToken"] : "";
  }

  function formatSize(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }
})();
