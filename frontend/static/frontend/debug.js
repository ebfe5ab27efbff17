// Online debug panel: send a raw body, or TensorFlow inputs built from the model's signature,
// through the console's debug proxy, and show the request and response it reports.
(function () {
  "use strict";

  const root = document.getElementById("debug");
  if (!root) return;
  const tensorflow = root.dataset.tensorflow === "true";
  let mode = tensorflow ? "tensorflow" : "raw";
  const $ = (id) => document.getElementById(id);
  const csrf = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];

  async function post(payload) {
    const response = await fetch(root.dataset.send, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(payload),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(`${body.Code || response.status}: ${body.Message || ""}`);
    return body;
  }

  function headerLines(headers) {
    return Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join("\n");
  }

  // JSON with objects indented and arrays of plain values kept on one (wrapped) line.
  function pretty(value, indent = "") {
    if (Array.isArray(value)) {
      if (value.every((v) => v === null || typeof v !== "object")) return `[${value.map((v) => JSON.stringify(v)).join(", ")}]`;
      return `[\n${value.map((v) => indent + "  " + pretty(v, indent + "  ")).join(",\n")}\n${indent}]`;
    }
    if (value && typeof value === "object") {
      const entries = Object.entries(value).map(([k, v]) => `${indent}  ${JSON.stringify(k)}: ${pretty(v, indent + "  ")}`);
      return `{\n${entries.join(",\n")}\n${indent}}`;
    }
    return JSON.stringify(value);
  }

  function bodyText(body) {
    if (body.json) return pretty(body.json) + `\n\n(sent as a ${body.size}-byte PredictRequest protobuf)`;
    if (body.text !== undefined) return body.text + (body.truncated ? "\n… (truncated)" : "");
    return `(binary, ${body.size} bytes, base64)\n${body.base64}`;
  }

  function show(result) {
    const sent = result.request;
    $("debug-request").textContent = `${sent.line}\n${headerLines(sent.headers)}\n\n${bodyText(sent.body)}`;
    const out = $("debug-response");
    out.textContent = "";
    if (result.error) {
      out.textContent = result.error;
      $("debug-elapsed").textContent = "";
      return;
    }
    const received = result.response;
    const status = document.createElement("span");
    status.className = `status-line status-${String(received.status)[0]}xx`;
    status.textContent = `${received.status} ${received.reason}`;
    const body = received.decoded ? pretty(received.decoded)
      : bodyText(received.body) + (received.decode_error ? `\n\n(${received.decode_error})` : "");
    out.append(status, `\n${headerLines(received.headers)}\n\n${body}`);
    $("debug-elapsed").textContent = `${received.status} in ${received.elapsed_ms} ms`;
  }

  function tensorPayload() {
    const inputs = [...document.querySelectorAll("#tf-inputs tr")].map((row) => {
      const name = row.dataset.name;
      let values;
      try {
        values = JSON.parse(row.querySelector("textarea").value || "[]");
      } catch (error) {
        throw new Error(`input ${name}: the values are not valid JSON (${error.message})`);
      }
      const shapeText = row.querySelector("input").value.trim();
      const shape = shapeText ? shapeText.split(",").map((d) => parseInt(d, 10)) : null;
      return { name, dtype: row.querySelector("select").value, shape, values };
    });
    const filter = $("tf-output-filter").value.split(",").map((s) => s.trim()).filter(Boolean);
    return { mode: "tensorflow", tensorflow: { signature_name: $("tf-signature").value.trim(), inputs, output_filter: filter } };
  }

  $("debug-send").addEventListener("click", async () => {
    const button = $("debug-send");
    button.disabled = true;
    try {
      const payload = mode === "tensorflow" ? tensorPayload()
        : { mode: "raw", body: $("debug-body").value, content_type: $("debug-content-type").value };
      show(await post(payload));
    } catch (error) {
      $("debug-response").textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });

  if (!tensorflow) return;

  document.querySelectorAll("[data-mode]").forEach((tab) => tab.addEventListener("click", () => {
    mode = tab.dataset.mode;
    document.querySelectorAll("[data-mode]").forEach((t) => t.classList.toggle("active", t === tab));
    document.querySelectorAll("[data-mode-panel]").forEach((p) => { p.hidden = p.dataset.modePanel !== mode; });
  }));

  const DTYPES = ["DT_FLOAT", "DT_DOUBLE", "DT_INT32", "DT_INT64", "DT_INT16", "DT_INT8", "DT_UINT8",
    "DT_UINT16", "DT_BOOL", "DT_STRING", "DT_HALF", "DT_BFLOAT16"];

  // An empty request returns the model structure: inputs with name, shape and type.
  async function loadStructure() {
    const status = $("tf-structure-status");
    try {
      const result = await post({ mode: "raw", body: "", content_type: "application/octet-stream" });
      const structure = JSON.parse(result.response.body.text);
      $("tf-signature").value = structure.signature_name || "";
      $("tf-inputs").replaceChildren(...structure.inputs.map(inputRow));
      status.textContent = `Signature ${structure.signature_name}: ${structure.inputs.length} input(s), outputs ${structure.outputs.map((o) => o.name).join(", ")}.`;
      status.dataset.loaded = "true";
    } catch (error) {
      status.textContent = `Could not read the model structure (${error.message}); use the raw body instead.`;
    }
  }

  function inputRow(input) {
    const row = document.createElement("tr");
    row.dataset.name = input.name;
    const shape = (input.shape || [1]).map((d) => (d < 0 ? 1 : d));
    const count = shape.reduce((a, b) => a * b, 1);
    const zero = input.type === "DT_STRING" ? "" : input.type === "DT_BOOL" ? false : 0;
    const select = document.createElement("select");
    DTYPES.forEach((d) => select.add(new Option(d, d, false, d === input.type)));
    const shapeInput = document.createElement("input");
    shapeInput.value = shape.join(",");
    shapeInput.setAttribute("aria-label", `Shape of ${input.name}`);
    const values = document.createElement("textarea");
    values.value = count <= 10000 ? JSON.stringify(new Array(count).fill(zero)) : "[]";
    values.setAttribute("aria-label", `Values of ${input.name}`);
    const name = document.createElement("td");
    name.className = "mono";
    name.textContent = input.name;
    const hint = document.createElement("small");
    hint.className = "id";
    hint.textContent = `model shape ${JSON.stringify(input.shape)}`;
    name.append(hint);
    row.append(name, cell(select), cell(shapeInput), cell(values));
    return row;
  }

  function cell(child) {
    const td = document.createElement("td");
    td.append(child);
    return td;
  }

  loadStructure();
})();
