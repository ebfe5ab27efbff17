// Deployment wizard: two panels, and the fields that only apply to some choices (public vs
// dedicated group, built-in vs custom processor, new service vs blue-green).
(function () {
  "use strict";

  const form = document.getElementById("deploy-form");
  if (!form) return;
  const field = (name) => form.elements[name];

  function goTo(step) {
    form.querySelectorAll("[data-panel]").forEach((panel) => { panel.hidden = panel.dataset.panel !== String(step); });
    form.querySelectorAll("[data-step]").forEach((tab) => {
      tab.setAttribute("aria-selected", tab.dataset.step === String(step) ? "true" : "false");
    });
  }

  function checkedValue(name) {
    const checked = form.querySelector(`input[name=${name}]:checked`);
    return checked ? checked.value : "";
  }

  function refresh() {
    const dedicated = !!field("resource_group").value;
    const custom = field("processor").value === "custom";
    const mode = checkedValue("mode") || "new";
    const java = custom && field("processor_type").value === "java";
    const shown = { public: !dedicated, dedicated, custom, java, new: mode === "new", bluegreen: mode === "bluegreen" };
    form.querySelectorAll("[data-when]").forEach((part) => { part.hidden = !shown[part.dataset.when]; });
    summarize();
  }

  // Panel 2 repeats what panel 1 chose, so the deployment is confirmed as a whole.
  function summarize() {
    const chosen = (name) => field(name).selectedOptions[0].textContent;
    const custom = field("processor").value === "custom";
    form.querySelector("[data-summary=resource_group]").textContent = chosen("resource_group");
    form.querySelector("[data-summary=processor]").textContent = custom
      ? `Custom (${field("processor_type").value}): ${field("processor_entry").value || "no main file"} from ${field("processor_path").value || "no package"}`
      : chosen("processor");
    form.querySelector("[data-summary=model_path]").textContent = field("model_path").value || "none";
  }

  form.addEventListener("click", (event) => {
    const target = event.target.closest("[data-goto], [data-step]");
    if (!target) return;
    event.preventDefault();
    summarize();
    goTo(target.dataset.goto || target.dataset.step);
  });
  form.addEventListener("change", refresh);
  refresh();
  // After a failed submit, open the panel that holds the first error.
  const hasErrors = form.querySelector(".has-error, .alert-error");
  goTo(form.dataset.firstPanelErrors === "true" || !hasErrors ? 1 : 2);
})();
