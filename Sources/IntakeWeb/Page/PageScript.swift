/// The page's script, served as `/page.js`. Plain JavaScript, nothing fetched from elsewhere.
/// Every text the server sends is put on the page as text (`textContent`), never as HTML.
enum PageScript {
    static let source = #"""
"use strict";

const state = {
  token: localStorage.getItem("intake.token") || "",
  cards: new Map(),   // job id -> the card of a file this page uploaded
  jobs: new Map(),    // job id -> the newest view of it
  queue: [],          // files waiting to be sent
  sending: 0,
};
const parallelUploads = 3;
const finished = new Set(["COMPLETED", "FAILED"]);

const $ = (selector, root = document) => root.querySelector(selector);
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value; else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
function authorization() { return state.token ? { Authorization: "Bearer " + state.token } : {}; }

async function api(path) {
  const response = await fetch(path, { headers: authorization() });
  if (response.status === 401) $("#token-box").hidden = false;
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
  return body;
}

/// An image of this server: a plain src without a token; with one, fetched with it.
async function showImage(img, url) {
  if (!state.token) { img.src = url; return; }
  const response = await fetch(url, { headers: authorization() });
  if (response.ok) img.src = URL.createObjectURL(await response.blob());
}

// ---- Uploading -------------------------------------------------------------------------------

function addFiles(files) {
  for (const file of files) {
    const card = el("li", { class: "card sending" });
    card.append(el("div", { class: "head" }, el("span", { class: "name" }, file.name), el("span", { class: "status" }, "waiting")),
                el("progress", { max: "1", value: "0" }), el("div", { class: "result" }));
    $("#uploads").prepend(card);
    state.queue.push({ file, card, env: $("#env").value, meter: $("#meter").value.trim() });
  }
  pump();
}

function pump() {
  while (state.sending < parallelUploads && state.queue.length > 0) {
    state.sending += 1;
    send(state.queue.shift()).finally(() => { state.sending -= 1; pump(); });
  }
}

function send({ file, card, env, meter }) {
  return new Promise(resolve => {
    const path = "/v1/inbox/" + encodeURIComponent(env) + (meter ? "/" + encodeURIComponent(meter) : "")
      + "?name=" + encodeURIComponent(file.name);
    const request = new XMLHttpRequest();
    request.open("POST", path);
    for (const [name, value] of Object.entries(authorization())) request.setRequestHeader(name, value);
    const bar = $("progress", card);
    setStatus(card, "sending");
    request.upload.onprogress = event => { if (event.lengthComputable) bar.value = event.loaded / event.total; };
    request.onload = async () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch (_) { }
      if (request.status === 202) {
        bar.value = 1;
        card.dataset.job = body.jobId;
        state.cards.set(body.jobId, card);
        setStatus(card, "PENDING");
        // Its outcome may have come before the card knew its id: ask once.
        try { const job = await api("/v1/jobs/" + body.jobId); if (finished.has(job.status)) showJob(job); } catch (_) { }
      } else if (request.status === 503) {
        // The server is busy: it keeps nothing of a refused upload, so send it again shortly.
        setStatus(card, "busy, retrying");
        await sleep(1000 * (Number(request.getResponseHeader("Retry-After")) || 1));
        state.queue.unshift({ file, card, env, meter });
      } else {
        if (request.status === 401) $("#token-box").hidden = false;
        setStatus(card, "REFUSED");
        $(".result", card).append(el("p", { class: "reason" }, (body.error && body.error.message) || request.statusText));
      }
      resolve();
    };
    request.onerror = () => {
      setStatus(card, "REFUSED");
      $(".result", card).append(el("p", { class: "reason" }, "the connection to intake was lost"));
      resolve();
    };
    request.send(file);
  });
}

function setStatus(card, status) {
  const badge = $(".status", card);
  badge.textContent = status;
  card.className = "card " + status.toLowerCase().replace(/[^a-z]+/g, "-");
}

// ---- Showing a job ----------------------------------------------------------------------------

function showJob(job) {
  state.jobs.set(job.jobId, job);
  const card = state.cards.get(job.jobId);
  if (card) fillCard(card, job);
  scheduleReview();
}

function fillCard(card, job) {
  setStatus(card, job.status);
  const result = $(".result", card);
  result.replaceChildren();
  if (job.status === "FAILED" && job.error) {
    result.append(el("p", { class: "reason" }, "failed at " + (job.error.stage || "?") + ": " + job.error.reason));
  }
  const pictures = el("div", { class: "pictures" });
  const shown = (job.outputs || []).filter(output => output.kind === "derivative" || output.kind === "rotation");
  shown.sort((a, b) => (a.kind === "derivative" ? -1 : 0) - (b.kind === "derivative" ? -1 : 0) || (a.angle || 0) - (b.angle || 0));
  for (const output of shown) {
    const img = el("img", { alt: output.kind === "rotation" ? "rotated " + output.angle + "°" : "derivative",
                            class: output.kind, "data-kind": output.kind });
    showImage(img, output.url);
    pictures.append(img);
  }
  if (pictures.childElementCount > 0) result.append(pictures);
  const labels = (job.detections[0] || { detections: [] }).detections;
  if (labels.length > 0) {
    result.append(el("ul", { class: "labels" },
      ...labels.map(label => el("li", {}, label.label + " " + label.confidence.toFixed(2)))));
  }
  const meter = job.meterReading;
  if (meter) {
    const parts = [meter.meter + ": " + meter.verdict];
    if (meter.value !== null && meter.value !== undefined) parts.push("read " + meter.value + (meter.unit ? " " + meter.unit : ""));
    if (meter.manualValue !== null && meter.manualValue !== undefined) parts.push("manual " + meter.manualValue + " (" + meter.manualReadAt + ")");
    if (meter.reason) parts.push(meter.reason);
    result.append(el("p", { class: "meter " + meter.verdict }, parts.join(" · ")));
  }
  result.append(el("a", { href: "/v1/jobs/" + job.jobId, class: "raw" }, "job " + job.jobId));
}

// ---- Live outcomes ----------------------------------------------------------------------------

/// Follows /v1/events with fetch rather than EventSource, which cannot send a token.
async function follow() {
  for (;;) {
    try {
      const response = await fetch("/v1/events", { headers: authorization() });
      if (!response.ok) throw new Error(response.statusText);
      $("#live").textContent = "live";
      // Outcomes missed while away are asked for.
      for (const [id, card] of state.cards) {
        if (!finished.has($(".status", card).textContent)) api("/v1/jobs/" + id).then(showJob).catch(() => {});
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").filter(line => line.startsWith("data: ")).map(line => line.slice(6)).join("\n");
          if (data) showJob(JSON.parse(data));
        }
      }
    } catch (_) { }
    $("#live").textContent = "reconnecting";
    await sleep(2000);
  }
}

// ---- Review -----------------------------------------------------------------------------------

let reviewTimer = null;
function scheduleReview() {
  if ($("#review").hidden || reviewTimer) return;
  reviewTimer = setTimeout(() => { reviewTimer = null; loadReview(); }, 300);
}

async function loadReview() {
  const env = $("#review-env").value;
  const query = env ? "&env=" + encodeURIComponent(env) : "";
  try {
    const [summary, recent, failed] = await Promise.all([
      api("/v1/summary" + (env ? "?env=" + encodeURIComponent(env) : "")),
      api("/v1/jobs?limit=200" + query),
      api("/v1/jobs?status=FAILED&limit=200" + query),
    ]);
    const text = $("#review-filter").value.trim().toLowerCase();
    const matches = job => !text || (job.name + " " + (job.meter || "") + " " + (job.error ? job.error.reason : "")).toLowerCase().includes(text);
    $("#summary").replaceChildren(...["PENDING", "PROCESSING", "COMPLETED", "FAILED"].map(status =>
      el("div", { class: "count " + status.toLowerCase() }, el("b", {}, summary.counts[status] || 0), " " + status)));
    $("#failures").replaceChildren(...failed.jobs.filter(matches).map(job => reviewRow(job,
      (job.error ? job.error.stage + ": " + job.error.reason : ""))));
    const meterJobs = recent.jobs.filter(job => job.meterReading && job.meterReading.verdict !== "match").filter(matches);
    $("#meters").replaceChildren(...meterJobs.map(job => reviewRow(job,
      job.meterReading.verdict + (job.meterReading.value !== null && job.meterReading.value !== undefined ? ", read " + job.meterReading.value : "")
      + (job.meterReading.manualValue !== null && job.meterReading.manualValue !== undefined ? ", manual " + job.meterReading.manualValue : "")
      + (job.meterReading.reason ? ": " + job.meterReading.reason : ""))));
    $("#review-error").textContent = "";
  } catch (error) {
    $("#review-error").textContent = "cannot load the review: " + error.message;
  }
}

function reviewRow(job, what) {
  const link = el("a", { href: "#job-" + job.jobId }, job.name);
  link.addEventListener("click", event => { event.preventDefault(); openJob(job.jobId); });
  return el("tr", {}, el("td", {}, link), el("td", {}, job.environment), el("td", {}, job.meter || ""),
            el("td", {}, what), el("td", {}, job.updatedAt));
}

async function openJob(id) {
  const card = el("div", { class: "card" }, el("div", { class: "head" }, el("span", { class: "name" }, ""), el("span", { class: "status" }, "")),
                  el("div", { class: "result" }));
  try {
    const job = await api("/v1/jobs/" + id);
    $(".name", card).textContent = job.name;
    fillCard(card, job);
  } catch (error) {
    $(".result", card).textContent = error.message;
  }
  $("#detail").replaceChildren(card);
  $("#detail").hidden = false;
}

// ---- Wiring -----------------------------------------------------------------------------------

function showView(name) {
  for (const view of ["upload", "review"]) {
    $("#" + view).hidden = view !== name;
    $("#tab-" + view).classList.toggle("active", view === name);
  }
  if (name === "review") loadReview();
}

function showEnvironments(environments) {
  const options = () => environments.map(env => el("option", { value: env }, env));
  $("#env").replaceChildren(...options());
  $("#review-env").replaceChildren(el("option", { value: "" }, "all"), ...options());
}

/// Where tokens are asked for, the page holds no environment names: they come with the token.
async function loadEnvironments() {
  try { showEnvironments((await api("/v1/environments")).environments); } catch (error) { /* the token box says what is needed */ }
}

window.addEventListener("DOMContentLoaded", () => {
  const environments = (document.body.dataset.environments || "").split(" ").filter(Boolean);
  if (environments.length > 0) showEnvironments(environments); else loadEnvironments();
  $("#token").value = state.token;
  $("#token-box").hidden = !state.token;
  $("#token").addEventListener("change", () => {
    state.token = $("#token").value.trim();
    localStorage.setItem("intake.token", state.token);
    if (environments.length === 0) loadEnvironments();
  });
  $("#files").addEventListener("change", event => { addFiles(event.target.files); event.target.value = ""; });
  const drop = $("#drop");
  drop.addEventListener("dragover", event => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", event => { event.preventDefault(); drop.classList.remove("over"); addFiles(event.dataTransfer.files); });
  $("#tab-upload").addEventListener("click", () => showView("upload"));
  $("#tab-review").addEventListener("click", () => showView("review"));
  $("#review-env").addEventListener("change", loadReview);
  $("#review-filter").addEventListener("input", scheduleReview);
  showView(location.hash === "#review" ? "review" : "upload");
  follow();
});
"""#
}
