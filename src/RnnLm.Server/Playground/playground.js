// The playground: streams /v1/generate, and charts /v1/candidates for the text before the cursor (or a token pointed at).
"use strict";
const $ = id => document.getElementById(id);
const base = location.pathname.replace(/\/$/, "");
let controller = null, candidateTimer = 0, candidateRequest = 0;

function visible(text) { return text.replace(/\n/g, "\\n").replace(/\t/g, "\\t"); }

function settings() {
  const stops = $("stops").value.split("\n").filter(s => s.length > 0).map(s => s.replace(/\\n/g, "\n"));
  return {
    model: $("model").value || undefined,
    temperature: Number($("temperature").value),
    top_k: Number($("top-k").value),
    top_p: Number($("top-p").value),
    beam: Number($("beam").value),
    max_tokens: Number($("max-tokens").value),
    seed: Number($("seed").value),
    stop: stops,
  };
}

function showSliders() {
  $("temperature-value").textContent = Number($("temperature").value).toFixed(2);
  $("top-k-value").textContent = $("top-k").value === "0" ? "off" : $("top-k").value;
  $("top-p-value").textContent = Number($("top-p").value).toFixed(2);
}

async function post(path, body, signal) {
  const r = await fetch(base + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });
  if (!r.ok) {
    let message = r.status + " " + r.statusText;
    try { const e = await r.json(); message = e.error.message; } catch { }
    throw new Error(message);
  }
  return r;
}

function status(text, isError) {
  $("status").textContent = text;
  $("status").className = "status" + (isError ? " error" : "");
}

async function generate() {
  const out = $("output"), prompt = $("prompt").value, s = settings();
  out.textContent = "";
  const p = document.createElement("span");
  p.className = "prompt"; p.textContent = prompt; out.appendChild(p);
  controller = new AbortController();
  $("generate").disabled = true; $("stop").disabled = false;
  status("generating…");
  let tokens = 0;
  try {
    const r = await post("/v1/generate", { ...s, prompt, stream: true }, controller.signal);
    const reader = r.body.getReader(), decoder = new TextDecoder();
    let buffer = "", event = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end); buffer = buffer.slice(end + 2); event = null;
        let data = null;
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data = JSON.parse(line.slice(6));
        }
        if (data === null) continue;
        if (event === "done") { tokens = data.tokens; status(`${data.tokens} tokens, ${data.finish_reason}`); continue; }
        const span = document.createElement("span");
        span.className = "token"; span.textContent = data.text; out.appendChild(span);
      }
    }
    if (!tokens) status("done");
  } catch (e) {
    status(e.name === "AbortError" ? "stopped" : e.message, e.name !== "AbortError");
  } finally {
    controller = null;
    $("generate").disabled = false; $("stop").disabled = true;
  }
}

// The candidates after a prefix, as bars; a newer request supersedes an older one.
async function candidates(prefix, where) {
  const id = ++candidateRequest;
  try {
    const r = await post("/v1/candidates", { model: $("model").value || undefined, prompt: prefix, k: 10, temperature: Number($("temperature").value) });
    const data = await r.json();
    if (id !== candidateRequest) return;
    const chart = $("chart");
    chart.textContent = "";
    const top = data.candidates.length ? data.candidates[0].probability : 1;
    for (const c of data.candidates) {
      const row = document.createElement("div"); row.className = "bar"; row.title = `id ${c.id}`;
      const label = document.createElement("span"); label.className = "label"; label.textContent = "'" + visible(c.token) + "'";
      const track = document.createElement("span"); track.className = "track";
      const fill = document.createElement("span"); fill.className = "fill"; fill.style.width = (100 * c.probability / top).toFixed(1) + "%";
      track.appendChild(fill);
      const p = document.createElement("span"); p.className = "p"; p.textContent = (100 * c.probability).toFixed(1) + "%";
      row.append(label, track, p); chart.appendChild(row);
    }
    $("chart-where").textContent = where;
  } catch (e) {
    if (id === candidateRequest) { $("chart").innerHTML = ""; $("chart-where").textContent = e.message; }
  }
}

function scheduleCandidates(prefix, where) {
  clearTimeout(candidateTimer);
  candidateTimer = setTimeout(() => candidates(prefix, where), 120);
}

function fromCursor() {
  const t = $("prompt"), prefix = t.value.slice(0, t.selectionStart);
  scheduleCandidates(prefix, `after “${visible(prefix.slice(-12))}”`);
}

$("output").addEventListener("mouseover", e => {
  const span = e.target.closest(".token");
  if (!span) return;
  document.querySelectorAll(".token.current").forEach(x => x.classList.remove("current"));
  span.classList.add("current");
  let prefix = "";
  for (const node of $("output").children) { if (node === span) break; prefix += node.textContent; }
  scheduleCandidates(prefix, `before “${visible(span.textContent)}”`);
});
for (const ev of ["input", "click", "keyup"]) $("prompt").addEventListener(ev, fromCursor);
for (const id of ["temperature", "top-k", "top-p"]) $(id).addEventListener("input", () => { showSliders(); fromCursor(); });
$("model").addEventListener("change", () => { showFacts(); fromCursor(); });
$("generate").addEventListener("click", generate);
$("stop").addEventListener("click", () => controller && controller.abort());
$("prompt").addEventListener("keydown", e => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) generate(); });

let models = [];
function showFacts() {
  const m = models.find(x => x.name === $("model").value) || models[0];
  if (!m) return;
  const t = m.training || {};
  $("facts").textContent = `${m.name}: ${m.cell} ${m.layers}×${m.hidden}, embedding ${m.emb}, ${m.parameters.toLocaleString()} parameters, ` +
    `${m.tokenizer} vocabulary of ${m.vocab_size}` + (t.mode ? `, trained in ${t.mode} mode, context ${t.ctx}` : "");
}

(async () => {
  showSliders();
  try {
    const r = await fetch(base + "/v1/model");
    const data = await r.json();
    models = data.models;
    for (const m of models) {
      const o = document.createElement("option"); o.value = m.name; o.textContent = m.name; $("model").appendChild(o);
    }
    $("model").value = data.default;
    showFacts();
    fromCursor();
  } catch (e) { $("facts").textContent = "cannot read /v1/model: " + e.message; }
})();
