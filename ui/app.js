// shippy's web UI: a small single-page app over the REST API at /api/v1. No build step, no
// dependencies. The token lives in sessionStorage for the tab's session; every error the API
// answers is shown next to the form that caused it. User data is only ever set as text.
"use strict";

const API = "/api/v1";
const session = {
  get token() { return sessionStorage.getItem("shippy.token"); },
  get email() { return sessionStorage.getItem("shippy.email") || ""; },
  save(token, email) {
    sessionStorage.setItem("shippy.token", token);
    sessionStorage.setItem("shippy.email", email);
  },
  clear() {
    sessionStorage.removeItem("shippy.token");
    sessionStorage.removeItem("shippy.email");
  },
};

const $ = (selector, root = document) => root.querySelector(selector);

/** An API failure, with the message the API gave. */
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Calls the API; answers the JSON body or throws an ApiError with the API's own words. */
async function api(method, path, body, extraHeaders = {}) {
  const headers = { accept: "application/json", ...extraHeaders };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "network", "Cannot reach shippy. Is it running?");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || {};
    if (response.status === 401 && session.token && path !== "/auth/login") {
      session.clear();
      go("login", "Your session has ended. Please log in again.");
    }
    throw new ApiError(response.status, error.code || "error", error.message || `Request failed (${response.status})`);
  }
  return data;
}

// ---- routing -------------------------------------------------------------------------------

const PUBLIC = new Set(["login", "signup"]);
const pages = { login, signup, vessels, consignments, consignment, activity };
let leaving = () => {};
let pendingNotice = null;

function go(page, notice) {
  pendingNotice = notice || null;
  if (location.hash === `#/${page}`) render(); else location.hash = `#/${page}`;
}

function render() {
  leaving();
  leaving = () => {};
  const [first, ...rest] = location.hash.replace(/^#\//, "").split("/");
  let page = first || "consignments";
  const arg = decodeURIComponent(rest.join("/"));
  if (!pages[page]) page = "consignments";
  if (!PUBLIC.has(page) && !session.token) {
    return go("login", "Please log in to see that page.");
  }
  if (PUBLIC.has(page) && session.token) return go("consignments");
  const view = $("#view");
  view.replaceChildren($(`#page-${page}`).content.cloneNode(true));
  view.dataset.page = page;
  const section = page === "consignment" ? "consignments" : page;
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === section));
  $("#nav").hidden = !session.token;
  $("#logout").hidden = !session.token;
  $("#who").textContent = session.email;
  document.title = `shippy · ${page}`;
  const notice = pendingNotice;
  pendingNotice = null;
  pages[page](view, notice, arg);
}

window.addEventListener("hashchange", render);
// Log-out revokes the token on the server, so it stops working everywhere, not just here.
$("#logout").addEventListener("click", async () => {
  let notice = "You are logged out.";
  try {
    await api("POST", "/auth/logout");
  } catch (e) {
    notice = `You are logged out on this page, but shippy could not end your session (${e.message}); it ends when it expires.`;
  }
  session.clear();
  go("login", notice);
});

// ---- form helpers --------------------------------------------------------------------------

/** Runs `submit` for `form`, disabling it meanwhile and showing any error beside it. */
function handle(form, submit) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $(".error", form);
    const button = $("button[type=submit]", form);
    error.hidden = true;
    form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
    button.disabled = true;
    const label = button.textContent;
    button.textContent = "Working…";
    try {
      await submit(new FormData(form));
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
      markField(form, e.message);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });
}

/** Outlines the input a "field: reason" message names. */
function markField(form, message) {
  const field = (message.match(/^([a-z_]+):/) || [])[1];
  const input = field && form.querySelector(`[name=${field}]`);
  if (input) input.classList.add("invalid");
}

/** A number from a form field; NaN stays NaN so the API names the field. */
const num = (value) => (String(value).trim() === "" ? NaN : Number(value));

/** A table; a cell is text, or a node (a link, a bar) placed as it is. */
function table(headers, rows) {
  const t = document.createElement("table");
  const head = t.createTHead().insertRow();
  headers.forEach((h) => { const th = document.createElement("th"); th.textContent = h; head.appendChild(th); });
  const body = t.createTBody();
  rows.forEach((cells) => {
    const tr = body.insertRow();
    cells.forEach((c) => {
      const cell = tr.insertCell();
      if (c instanceof Node) cell.appendChild(c); else cell.textContent = c;
    });
  });
  return t;
}

const count = (n) => Number(n).toLocaleString();

/** How full a vessel is in one dimension: a bar and "used / size". */
function fill(size, remaining, unit = "") {
  const used = size - remaining;
  const wrap = document.createElement("div");
  wrap.className = "fill";
  const bar = document.createElement("div");
  bar.className = remaining <= 0 ? "bar full" : "bar";
  bar.setAttribute("role", "img");
  const share = size > 0 ? Math.min(100, (100 * used) / size) : 0;
  bar.setAttribute("aria-label", `${Math.round(share)}% taken`);
  const level = document.createElement("span");
  level.style.width = `${share}%`;
  bar.appendChild(level);
  const text = document.createElement("span");
  text.textContent = `${count(used)} / ${count(size)}${unit}`;
  wrap.append(bar, text);
  return wrap;
}

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

function placeholder(text, cls = "muted") {
  const p = document.createElement("p");
  p.className = cls;
  p.textContent = text;
  return p;
}

const when = (ms) => new Date(ms).toLocaleString();

// ---- pages ---------------------------------------------------------------------------------

function login(view, notice) {
  const form = $("#login-form", view);
  if (notice) Object.assign($("#notice", view), { textContent: notice, hidden: false });
  const remembered = sessionStorage.getItem("shippy.signed-up");
  if (remembered) $("#login-email", view).value = remembered;
  handle(form, async (data) => {
    const email = String(data.get("email")).trim();
    const answer = await api("POST", "/auth/login", { email, password: data.get("password") });
    session.save(answer.token, email);
    sessionStorage.removeItem("shippy.signed-up");
    go("consignments");
  });
}

function signup(view) {
  handle($("#signup-form", view), async (data) => {
    const user = {
      name: data.get("name"),
      company: data.get("company"),
      email: String(data.get("email")).trim(),
      password: data.get("password"),
    };
    await api("POST", "/users", user);
    sessionStorage.setItem("shippy.signed-up", user.email);
    go("login", "Account created. Log in to start shipping.");
  });
}

async function vessels(view) {
  const list = $("#vessel-list", view);
  const load = async () => {
    try {
      const { vessels } = await api("GET", "/vessels");
      list.replaceChildren(vessels.length
        ? table(["Id", "Name", "Containers booked", "Weight booked", "Available"],
          vessels.map((v) => [v.id, v.name, fill(v.capacity, v.remaining_capacity),
            fill(v.max_weight, v.remaining_weight, " kg"), v.available ? "yes" : "no"]))
        : placeholder("No vessels yet. Add one above."));
    } catch (e) {
      list.replaceChildren(placeholder(e.message, "error"));
    }
  };
  handle($("#vessel-form", view), async (data) => {
    const vessel = { id: String(data.get("id")).trim(), name: data.get("name"),
      capacity: num(data.get("capacity")), max_weight: num(data.get("max_weight")) };
    if (Number.isNaN(vessel.capacity)) throw new ApiError(400, "invalid_argument", "capacity: enter a number");
    if (Number.isNaN(vessel.max_weight)) throw new ApiError(400, "invalid_argument", "max_weight: enter a number");
    await api("POST", "/vessels", vessel);
    $("#vessel-form", view).reset();
    await load();
  });
  handle($("#find-form", view), async (data) => {
    const result = $("#find-result", view);
    result.hidden = true;
    const q = new URLSearchParams({ capacity: data.get("capacity"), max_weight: data.get("max_weight") });
    const { vessel } = await api("GET", `/vessels/available?${q}`);
    result.textContent = `${vessel.name} (${vessel.id}) can carry it: room left for ${count(vessel.remaining_capacity)} containers and ${count(vessel.remaining_weight)} kg.`;
    result.hidden = false;
  });
  await load();
}

async function consignments(view) {
  let attempt = null;
  const list = $("#consignment-list", view);
  const containers = $("#containers", view);
  const addRow = () => {
    const row = $("#container-row").content.cloneNode(true);
    $(".remove", row).addEventListener("click", (e) => e.target.closest(".container-row").remove());
    containers.appendChild(row);
  };
  $("#add-container", view).addEventListener("click", addRow);
  addRow();
  const load = async () => {
    try {
      const { consignments } = await api("GET", "/consignments");
      list.replaceChildren(consignments.length
        ? table(["Description", "Weight (kg)", "Containers", "Vessel", "Status", "Booked"],
          consignments.map((c) => [link(`#/consignment/${encodeURIComponent(c.id)}`, c.description),
            count(c.weight), c.containers.length, c.vessel_id || "—", c.status,
            new Date(c.created_at).toLocaleString()]))
        : placeholder("No consignments yet. Book one above."));
    } catch (e) {
      list.replaceChildren(placeholder(e.message, "error"));
    }
  };
  handle($("#consignment-form", view), async (data) => {
    const rows = [...containers.querySelectorAll(".container-row")].map((row) => ({
      customer_id: $("[name=customer_id]", row).value.trim(),
      origin: $("[name=origin]", row).value.trim(),
      user_id: $("[name=user_id]", row).value.trim(),
    })).filter((c) => c.customer_id || c.origin || c.user_id);
    const consignment = { description: data.get("description"), weight: num(data.get("weight")), containers: rows };
    if (Number.isNaN(consignment.weight)) throw new ApiError(400, "invalid_argument", "weight: enter a number");
    // One key per attempt: pressing Book again with the same details after a 503 or a lost
    // answer retries the same booking, and the API books it once. Changed details, or any
    // answer, start a new attempt with a new key.
    const details = JSON.stringify(consignment);
    if (!attempt || attempt.details !== details) attempt = { key: crypto.randomUUID(), details };
    try {
      await api("POST", "/consignments", consignment, { "idempotency-key": attempt.key });
    } catch (e) {
      if (e.status === 503 || e.status === 0) throw unfinished(e);
      attempt = null;
      if (e.status === 422) await load();
      throw plainBookingError(e);
    }
    attempt = null;
    $("#consignment-form", view).reset();
    containers.replaceChildren();
    addRow();
    await load();
  });
  await load();
}

/** A booking that got no answer, in words that say what to do: the same attempt again. */
function unfinished(e) {
  const why = e.status === 0 ? "shippy could not be reached" : "shippy could not finish this booking just now";
  return new ApiError(e.status, e.code, `${why}. Press Book again without changing anything: it will not be booked twice.`);
}

/** A refused booking in plain words; field errors keep the API's "field: reason" form. */
function plainBookingError(e) {
  if (e.status === 422) {
    return new ApiError(e.status, e.code, `No vessel can take this consignment (${e.message}). It is kept in your list as rejected; nothing was booked.`);
  }
  if (e.status === 409) {
    return new ApiError(e.status, e.code, "Your earlier try of this booking was already settled another way (cancelled, or sent with other details): see your list below. Press Book again to book this as a new consignment.");
  }
  return e;
}

async function consignment(view, notice, id) {
  const error = $(".error", view);
  const cancel = $("#detail-cancel", view);
  const show = (c, vessels) => {
    const vessel = vessels.find((v) => v.id === c.vessel_id);
    $("#detail-title", view).textContent = c.description;
    const status = $("#detail-status", view);
    status.textContent = c.status;
    status.className = `badge ${c.status}`;
    $("#detail-vessel", view).textContent = vessel ? `${vessel.name} (${vessel.id})` : c.vessel_id || "none";
    $("#detail-weight", view).textContent = `${count(c.weight)} kg`;
    $("#detail-containers", view).textContent = count(c.containers.length);
    $("#detail-reason", view).textContent = c.reason;
    $("#detail-reason", view).hidden = $("#detail-reason-label", view).hidden = !c.reason;
    // A booking still cancelling (after a 503) finishes when cancelled again.
    cancel.hidden = !["pending", "booked", "cancelling"].includes(c.status);
    $("#detail-steps", view).replaceChildren(...c.steps.map((s) => {
      const li = document.createElement("li");
      const name = document.createElement("strong");
      name.textContent = s.name;
      const time = document.createElement("time");
      time.dateTime = s.at;
      time.textContent = new Date(s.at).toLocaleString();
      const detail = document.createElement("p");
      detail.textContent = s.detail;
      li.append(name, time, detail);
      return li;
    }));
  };
  const load = async () => {
    const [{ consignment: c }, { vessels }] = await Promise.all([
      api("GET", `/consignments/${encodeURIComponent(id)}`),
      api("GET", "/vessels").catch(() => ({ vessels: [] })),
    ]);
    show(c, vessels);
    return vessels;
  };
  let vessels = [];
  try {
    vessels = await load();
  } catch (e) {
    $("#detail-title", view).textContent = e.status === 404 ? "No such consignment of yours" : "Consignment";
    Object.assign(error, { textContent: e.message, hidden: false });
    return;
  }
  cancel.addEventListener("click", async () => {
    error.hidden = true;
    cancel.disabled = true;
    try {
      const { consignment: c } = await api("POST", `/consignments/${encodeURIComponent(id)}/cancel`);
      show(c, vessels);
    } catch (e) {
      const message = e.status === 503 || e.status === 0
        ? "shippy could not finish cancelling just now. Press Cancel again to finish it."
        : e.message;
      Object.assign(error, { textContent: message, hidden: false });
      await load().catch(() => {});
    } finally {
      cancel.disabled = false;
    }
  });
}

async function activity(view) {
  const events = $("#events", view);
  const live = $("#live", view);
  const seen = new Set();
  const show = (e, fresh) => {
    if (seen.has(e.id)) return;
    seen.add(e.id);
    $(".empty", events)?.remove();
    const li = document.createElement("li");
    li.className = fresh ? "event fresh" : "event";
    li.dataset.origin = e.origin;
    const head = document.createElement("div");
    head.className = "event-head";
    const origin = document.createElement("strong");
    origin.textContent = `${e.origin.replace("shippy.", "")} · ${e.method}`;
    const time = document.createElement("time");
    time.textContent = when(e.time_unix_ms);
    head.append(origin, time);
    const message = document.createElement("p");
    message.textContent = e.message;
    li.append(head, message);
    if (fresh) events.prepend(li); else events.appendChild(li);
  };
  const controller = new AbortController();
  leaving = () => controller.abort();
  try {
    const { events: recent } = await api("GET", "/logs?limit=50");
    events.replaceChildren();
    if (!recent.length) events.appendChild(Object.assign(placeholder("Nothing yet. Book a consignment and it shows up here."), { className: "muted empty" }));
    recent.forEach((e) => show(e, false));
  } catch (e) {
    events.replaceChildren(placeholder(e.message, "error"));
  }
  stream(controller.signal, (e) => show(e, true), (state) => {
    live.textContent = state;
    live.classList.toggle("on", state === "live");
  });
}

/** Follows /logs/stream with fetch (EventSource cannot send the token); reconnects. */
async function stream(signal, onEvent, onState) {
  while (!signal.aborted) {
    try {
      const response = await fetch(`${API}/logs/stream`, { headers: { authorization: `Bearer ${session.token}` }, signal });
      if (!response.ok) throw new Error(`stream answered ${response.status}`);
      onState("live");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
          if (data) onEvent(JSON.parse(data));
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    onState("reconnecting…");
    await new Promise((r) => setTimeout(r, 1000));
  }
}

render();
