//! shippy's web UI: a small single-page app over the REST API at /api/v1. No build step, no
//! dependencies. The token lives in localStorage (every tab of the browser shares it, until
//! it expires or any tab logs out); the API's errors are told in a person's words, each next
//! to the field it is about. User data is only ever set as text.
"use strict";

const API = "/api/v1";
const KEYS = { token: "shippy.token", email: "shippy.email", expires: "shippy.expires_at", ended: "shippy.ended" };
/** Where a tab was going when it was sent to log in (per tab). */
const RETURN = "shippy.return";

const session = {
  /** The token, or null when there is none or it has expired (an expired one is dropped). */
  get token() {
    const token = localStorage.getItem(KEYS.token);
    if (!token) return null;
    const expires = Number(localStorage.getItem(KEYS.expires) || 0);
    if (expires && expires * 1000 <= Date.now()) {
      this.clear("expired");
      return null;
    }
    return token;
  },
  get email() { return localStorage.getItem(KEYS.email) || ""; },
  /** Keeps the log-in's token and its expiry (unix seconds) for every tab. */
  save(token, email, expiresAt) {
    localStorage.setItem(KEYS.email, email);
    localStorage.setItem(KEYS.expires, String(expiresAt || 0));
    localStorage.setItem(KEYS.token, token);
    localStorage.removeItem(KEYS.ended);
    watchExpiry();
  },
  /** Forgets the token in every tab; `why` ("logout", "expired", "rejected") tells the others. */
  clear(why = "logout") {
    localStorage.setItem(KEYS.ended, why);
    localStorage.removeItem(KEYS.token);
    localStorage.removeItem(KEYS.email);
    localStorage.removeItem(KEYS.expires);
  },
};

const $ = (selector, root = document) => root.querySelector(selector);

/** An API failure: its status, code, message, and the fields it named (maybe none). */
class ApiError extends Error {
  constructor(status, code, message, fields = [], retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }
}

/** What a form got wrong, already in a person's words: [{field?, input?, code?, text}]. */
class Problems extends Error {
  constructor(list) {
    super(list.map((p) => p.text).join(" "));
    this.list = list;
  }
}

/** One problem that is not about a field. */
const problem = (text) => new Problems([{ text }]);

/** Calls the API; answers the JSON body or throws an ApiError. A 401 ends the session. */
async function api(method, path, body, extraHeaders = {}) {
  const headers = { accept: "application/json", ...extraHeaders };
  if (body !== undefined) headers["content-type"] = "application/json";
  const token = session.token;
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "network", "cannot reach shippy");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || {};
    if (response.status === 401 && token && path !== "/auth/login") {
      session.clear("rejected");
      sendToLogIn("Your session has ended. Log in again to carry on.");
    }
    throw new ApiError(response.status, error.code || "error", error.message || `request failed (${response.status})`,
      Array.isArray(error.fields) ? error.fields : [], response.headers.get("retry-after"));
  }
  return data;
}

// ---- words ---------------------------------------------------------------------------------

/** What to say about a field, per code; `form.field` keys (the form's data-words) win. */
const WORDS = {
  name: { required: "Enter a name", too_long: "Use at most 256 characters" },
  "vessel.name": { required: "Enter the vessel's name" },
  company: { too_long: "Use at most 256 characters" },
  email: {
    required: "Enter your email", bad_format: "Enter an email like name@example.com",
    too_long: "Use at most 256 characters", taken: "An account with this email exists already. Log in instead, or use another email",
  },
  password: { required: "Enter a password", too_small: "Use at least 8 characters", too_long: "Use at most 256 characters" },
  "login.password": { required: "Enter your password" },
  id: { too_long: "Use at most 64 characters", taken: "A vessel with this id exists already: choose another, or leave it empty" },
  capacity: {
    required: "Enter how many containers", not_a_number: "Enter a whole number of containers, 1 or more",
    too_small: "Enter a whole number of containers, 1 or more", too_large: "Enter at most 2,147,483,647 containers",
  },
  "vessel.capacity": { required: "Enter how many containers the vessel can carry" },
  max_weight: {
    required: "Enter the weight in kg", not_a_number: "Enter the weight as a whole number of kg",
    too_small: "Enter a weight of 1 kg or more", too_large: "Enter at most 2,147,483,647 kg",
  },
  "vessel.max_weight": { required: "Enter the most weight the vessel can carry, in kg" },
  weight: {
    required: "Enter the weight in kg", not_a_number: "Enter the weight as a whole number of kg",
    too_small: "Enter a weight of 1 kg or more", too_large: "Enter at most 2,147,483,647 kg",
  },
  description: { required: "Say what you are shipping", too_long: "Use at most 1,024 characters" },
  containers: {
    required: "Add at least one container", too_large: "Book at most 10,000 containers at once",
    too_long: "Each container's fields can be at most 256 characters",
  },
  customer_id: { required: "Enter the customer id", too_long: "Use at most 256 characters" },
  origin: { required: "Enter where it is loaded", too_long: "Use at most 256 characters" },
  user_id: { too_long: "Use at most 256 characters" },
};

/** What to say about any field when the dictionary has nothing better. */
const BY_CODE = {
  required: "Fill this in", not_a_number: "Enter a whole number", too_small: "This is too small",
  too_large: "This is too large", too_long: "This is too long", bad_format: "Check how this is written",
};

/** What a field is called, for a field a form has no input for (its problem goes above the button). */
const FIELD_NAMES = {
  "idempotency-key": "The booking's retry key", token: "Your session", available: "Available",
  containers: "Containers", id: "The id",
};

/** A field's name for a person: "customer_id" is "Customer id". */
function fieldName(field) {
  const base = field.replace(/^.*\./, "");
  const n = (field.match(/^containers\[(\d+)\]\./) || [])[1];
  const name = FIELD_NAMES[base] || sentence(base.replace(/[_-]/g, " ")).slice(0, -1);
  return n === undefined ? name : `Container ${Number(n) + 1}: ${name.toLowerCase()}`;
}

/** A field's message for `code`, in the UI's words; the API's own words only as a last resort. */
function wordsFor(scope, field, code, apiMessage) {
  const base = field.replace(/^.*\./, "");
  const text = WORDS[`${scope}.${base}`]?.[code] || WORDS[base]?.[code] || BY_CODE[code];
  if (text) return text;
  return apiMessage ? sentence(apiMessage) : "Check this field";
}

/** The field problems an API error names: its typed `fields` (its message is never parsed). */
function fieldsOf(error) {
  return error.fields.map((f) => ({ field: f.field, code: f.code, message: f.message }));
}

/** An API error as problems in a person's words; `scope` picks the form's wording. */
function explain(error, scope) {
  if (error instanceof Problems) return error.list;
  if (!(error instanceof ApiError)) return [{ text: "Something went wrong in this page. Reload it and try again." }];
  if (error.status === 400) {
    const fields = fieldsOf(error);
    if (fields.length) {
      return fields.map((f) => ({ field: f.field, code: f.code, text: wordsFor(scope, f.field, f.code, f.message) }));
    }
    return [{ text: `shippy could not take this: ${error.message}.` }];
  }
  return [{ text: plainly(error) }];
}

/** An error that is not about one field, in plain words. */
function plainly(error) {
  if (error.status === 0) return "Cannot reach shippy. Check your connection, or that shippy is running, then try again.";
  if (error.status === 401) return "Your session has ended. Log in again to carry on.";
  if (error.status === 404) return "That is not there any more, or it is not yours.";
  if (error.status === 429) {
    const wait = Number(error.retryAfter) || 0;
    return wait ? `Too many tries. Wait ${seconds(wait)}, then try again.` : "Too many tries. Wait a little, then try again.";
  }
  if (error.status >= 500) return "shippy could not do that just now. Try again in a moment.";
  return sentence(error.message);
}

/** `text` with a capital first letter and a full stop. */
function sentence(text) {
  const t = String(text).trim();
  if (!t) return "";
  const s = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

// ---- numbers and times ---------------------------------------------------------------------

/** A number with thousands separators. */
const count = (n) => Number(n).toLocaleString();
/** "1 container", "3,000 containers". */
const containers = (n) => `${count(n)} ${Number(n) === 1 ? "container" : "containers"}`;
/** "70,000 kg". */
const kg = (n) => `${count(n)} kg`;
/** "1 second", "30 seconds". */
const seconds = (n) => `${count(n)} ${Number(n) === 1 ? "second" : "seconds"}`;

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const UNITS = [["year", 31557600], ["month", 2629800], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];

/** "just now", "3 minutes ago", "yesterday". */
function ago(ms) {
  const secs = (ms - Date.now()) / 1000;
  if (Math.abs(secs) < 45) return "just now";
  const [unit, size] = UNITS.find(([, s]) => Math.abs(secs) >= s) || UNITS[UNITS.length - 1];
  return relative.format(Math.round(secs / size), unit);
}

/** A <time> saying how long ago `ms` was, with the exact time on hover. */
function timeEl(ms) {
  const time = document.createElement("time");
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return time;
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString(undefined, { dateStyle: "full", timeStyle: "medium" });
  time.dataset.at = String(ms);
  time.textContent = ago(ms);
  return time;
}

/** Keeps every relative time on the page current. */
setInterval(() => {
  document.querySelectorAll("time[data-at]").forEach((t) => { t.textContent = ago(Number(t.dataset.at)); });
}, 30000);

// ---- telling ------------------------------------------------------------------------------

let lastSaid = { text: "", at: 0 };

/** Has a screen reader say `text` once (the live region only ever holds new messages). */
function announce(text) {
  if (!text || (text === lastSaid.text && Date.now() - lastSaid.at < 1500)) return;
  lastSaid = { text, at: Date.now() };
  const region = $("#announce");
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 60);
}

/** Shows `text` in the page's notice (#notice), and says it. */
function notify(view, text) {
  const notice = $("#notice", view);
  if (!notice || !text) return;
  notice.textContent = text;
  notice.hidden = false;
  announce(text);
}

// ---- routing -------------------------------------------------------------------------------

const PUBLIC = new Set(["welcome", "login", "signup"]);
const pages = { welcome, login, signup, vessels, consignments, consignment, activity };
const TITLES = {
  welcome: "Welcome", login: "Log in", signup: "Create an account", vessels: "Vessels",
  consignments: "Consignments", consignment: "Consignment", activity: "Activity",
};
/** Why a logged-out visitor is asked to log in, per page. */
const WHY = {
  vessels: "Log in to see the vessels.", consignments: "Log in to see your consignments.",
  consignment: "Log in to see this consignment.", activity: "Log in to see your activity.",
};
let leaving = () => {};
let pendingNotice = null;
let current = { page: null };

/** Shows `page`, with `notice` on it. */
function go(page, notice) {
  goHash(`#/${page}`, notice);
}

/** Shows the page at `hash`, with `notice` on it. */
function goHash(hash, notice) {
  pendingNotice = notice || null;
  if (location.hash === hash) render(); else location.hash = hash;
}

/** Remembers where this tab was going (a protected page) and asks to log in. */
function sendToLogIn(notice) {
  if (current.page && !PUBLIC.has(current.page)) sessionStorage.setItem(RETURN, location.hash);
  go("login", notice);
}

/** The page and argument the address names; "" is the landing page, or your consignments. */
function route() {
  const [first, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const page = pages[first] ? first : (session.token ? "consignments" : "welcome");
  return { page, arg: decodeURIComponent(rest.join("/")) };
}

/** Draws the page the address names, after the checks of who may see it. */
function render() {
  leaving();
  leaving = () => {};
  const { page, arg } = route();
  if (!PUBLIC.has(page) && !session.token) {
    sessionStorage.setItem(RETURN, location.hash);
    const expired = localStorage.getItem(KEYS.ended) === "expired";
    return go("login", expired ? `Your session has expired. ${WHY[page]}` : WHY[page]);
  }
  if (PUBLIC.has(page) && session.token) return go("consignments");
  current = { page };
  const view = $("#view");
  view.replaceChildren($(`#page-${page}`).content.cloneNode(true));
  view.dataset.page = page;
  header(page === "consignment" ? "consignments" : page);
  document.title = `${TITLES[page]} · shippy`;
  const notice = pendingNotice;
  pendingNotice = null;
  pages[page](view, notice, arg);
  arrive(view);
}

/** The header for the page `section` belongs to: the nav (current page marked), who, log out. */
function header(section) {
  const token = session.token;
  document.querySelectorAll("#nav a").forEach((a) => {
    if (a.dataset.page === section) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  $("#nav").hidden = !token;
  $("#logout").hidden = !token;
  $("#who").textContent = token ? session.email : "";
}

/** Moves focus where a person starts: a form page's first empty field, else the page's heading. */
function arrive(view) {
  const inputs = ["login", "signup"].includes(view.dataset.page) ? [...view.querySelectorAll("form input")] : [];
  const first = inputs.find((input) => !input.value) || inputs[0];
  const target = first || $("h1", view);
  if (target) target.focus({ preventScroll: !first });
  window.scrollTo(0, 0);
}

/** Where to go after logging in: where this tab was going, else your consignments. */
function destination() {
  const back = sessionStorage.getItem(RETURN);
  sessionStorage.removeItem(RETURN);
  return back && !/^#\/?(welcome|login|signup)?$/.test(back) ? back : "#/consignments";
}

/** Logs this tab out (the server revokes the token, so every tab and service stops taking it). */
async function logOut() {
  let notice = "You are logged out.";
  try {
    await api("POST", "/auth/logout");
  } catch (e) {
    if (e.status !== 401) notice = "You are logged out in this browser, but shippy could not be told, so your session ends when it expires.";
  }
  session.clear("logout");
  sessionStorage.removeItem(RETURN);
  go("login", notice);
}

/** Follows another tab's log-in or log-out (localStorage is shared, its changes are told here). */
function followOtherTabs(event) {
  if (event.key !== KEYS.token && event.key !== null) return;
  if (session.token) {
    if (PUBLIC.has(current.page)) goHash(destination());
    else header(current.page === "consignment" ? "consignments" : current.page);
    watchExpiry();
    return;
  }
  if (PUBLIC.has(current.page)) return header(current.page);
  const why = localStorage.getItem(KEYS.ended);
  sendToLogIn(why === "expired" ? "Your session has expired. Log in again to carry on."
    : "You logged out in another tab. Log in again to carry on.");
}

let expiryTimer = null;

/** Ends the session in this tab when its token expires. */
function watchExpiry() {
  clearTimeout(expiryTimer);
  const expires = Number(localStorage.getItem(KEYS.expires) || 0);
  if (!expires || !localStorage.getItem(KEYS.token)) return;
  const wait = Math.min(2147483000, Math.max(0, expires * 1000 - Date.now()) + 500);
  expiryTimer = setTimeout(() => {
    if (!session.token && !PUBLIC.has(current.page)) sendToLogIn("Your session has expired. Log in again to carry on.");
  }, wait);
}

window.addEventListener("hashchange", render);
window.addEventListener("storage", followOtherTabs);
$("#logout").addEventListener("click", logOut);

// ---- forms ---------------------------------------------------------------------------------

/**
 * Runs `submit` for `form`: first the form's own checks and `check()`'s (every field at once),
 * then the API; whatever is wrong is shown next to its field, the rest above the button.
 * `locate(field)` finds the input an API field name means (default: by name).
 */
function handle(form, submit, { check = () => [], locate = (field) => byName(form, field) } = {}) {
  const scope = form.dataset.words || "";
  form.addEventListener("input", (event) => clearField(event.target));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblems(form);
    const local = [...checkForm(form, scope), ...check()];
    if (local.length) return showProblems(form, local, locate);
    const button = $("button[type=submit]", form);
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Working…";
    try {
      await submit(new FormData(form));
    } catch (e) {
      showProblems(form, explain(e, scope), locate);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  });
}

/** The input of `form` named `field`, outside the container rows. */
function byName(form, field) {
  return [...form.querySelectorAll(`[name="${CSS.escape(field)}"]`)].find((el) => !el.closest(".container-row")) || null;
}

/** What the form's own constraints (required, numbers, min, max, email, length) find wrong. */
function checkForm(form, scope) {
  const found = [];
  form.querySelectorAll("input[name]").forEach((input) => {
    const code = constraint(input);
    if (code) found.push({ input, field: input.name, code, text: wordsFor(scope, input.name, code) });
  });
  return found;
}

/** The code of the first constraint `input` breaks, or null. */
function constraint(input) {
  const v = input.validity;
  if (v.badInput || v.stepMismatch) return "not_a_number";
  if (v.valueMissing || (input.required && !input.value.trim())) return "required";
  if (v.rangeUnderflow || v.tooShort) return "too_small";
  if (v.rangeOverflow) return "too_large";
  if (v.tooLong) return "too_long";
  if (v.typeMismatch || v.patternMismatch) return "bad_format";
  return null;
}

/** Shows each problem next to its field (all at once), the others in the summary; says them. */
function showProblems(form, list, locate) {
  const loose = [];
  let first = null;
  for (const p of list) {
    const target = p.input || (p.field && locate(p.field));
    if (target) {
      markInvalid(target, p.text);
      first = first || target;
    } else {
      loose.push(p.field ? `${fieldName(p.field)}: ${p.text}` : p.text);
    }
  }
  const summary = $(":scope > .error", form);
  summary.textContent = loose.join(" ");
  summary.hidden = !loose.length;
  announce(list.map((p) => p.text).map(sentence).join(" "));
  if (first && first.matches("input")) first.focus();
  else if (!first) summary.scrollIntoView({ block: "nearest" });
}

/** Marks `target` (an input, or a group such as the containers) invalid with `text` beside it. */
function markInvalid(target, text) {
  const message = messageFor(target);
  message.textContent = text;
  message.hidden = false;
  if (target.matches("input")) {
    target.setAttribute("aria-invalid", "true");
    target.classList.add("invalid");
  }
  describe(target, message.id, true);
}

/** The message element of `target`, made right after it (or after a group's legend). */
function messageFor(target) {
  const id = `${target.id}-error`;
  let message = document.getElementById(id);
  if (!message) {
    message = Object.assign(document.createElement("p"), { id, className: "field-error", hidden: true });
    if (target.matches("fieldset")) $("legend", target).after(message); else target.after(message);
  }
  return message;
}

/** Adds (or removes) `id` to the elements describing `el`. */
function describe(el, id, on) {
  const ids = new Set((el.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean));
  if (on) ids.add(id); else ids.delete(id);
  if (ids.size) el.setAttribute("aria-describedby", [...ids].join(" ")); else el.removeAttribute("aria-describedby");
}

/** Takes back the message of one field (the person is fixing it). */
function clearField(target) {
  if (!target || !target.id) return;
  const message = document.getElementById(`${target.id}-error`);
  if (message) message.hidden = true;
  target.removeAttribute("aria-invalid");
  target.classList.remove("invalid");
  describe(target, `${target.id}-error`, false);
}

/** Takes back every message of `form`, and the page's notice: each submit starts clean. */
function clearProblems(form) {
  form.querySelectorAll("[id]").forEach(clearField);
  clearField(form);
  form.querySelectorAll(".field-error").forEach((m) => { m.hidden = true; });
  $(":scope > .error", form).hidden = true;
  const notice = $("#notice", form.closest(".view") || document);
  if (notice) notice.hidden = true;
}

// ---- building blocks -----------------------------------------------------------------------

/** An element with properties and children (text or nodes; text stays text). */
function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

/**
 * A table; a cell is text or a node. Each cell carries its heading as data-label, and the
 * roles are explicit, so on a phone the CSS can lay each row out as a card.
 */
function table(headers, rows) {
  const t = el("table", { role: "table" });
  const head = t.createTHead();
  head.setAttribute("role", "rowgroup");
  const headRow = head.insertRow();
  headRow.setAttribute("role", "row");
  headers.forEach((h) => headRow.appendChild(el("th", { scope: "col", textContent: h })).setAttribute("role", "columnheader"));
  const body = t.createTBody();
  body.setAttribute("role", "rowgroup");
  rows.forEach((cells) => {
    const tr = body.insertRow();
    tr.setAttribute("role", "row");
    cells.forEach((c, i) => {
      const cell = tr.insertCell();
      cell.setAttribute("role", "cell");
      cell.dataset.label = headers[i];
      if (c instanceof Node) cell.appendChild(c); else cell.textContent = c;
    });
  });
  return t;
}

/** How full a vessel is in one dimension: a bar and "used / size unit". */
function fill(size, remaining, unit) {
  const used = size - remaining;
  const share = size > 0 ? Math.min(100, (100 * used) / size) : 0;
  const bar = el("div", { className: remaining <= 0 ? "bar full" : "bar" });
  bar.setAttribute("role", "img");
  bar.setAttribute("aria-label", `${Math.round(share)}% taken`);
  const level = el("span");
  level.style.width = `${share}%`;
  bar.appendChild(level);
  return el("div", { className: "fill" }, bar, el("span", { textContent: `${count(used)} / ${count(size)} ${unit}` }));
}

/** A link whose text is `text`. */
const link = (href, text) => el("a", { href, textContent: text });

/** A paragraph of `text`. */
const placeholder = (text, cls = "muted") => el("p", { className: cls, textContent: text });

/**
 * A list the API answers a page at a time, drawn into `box`: the first page of `path`, then
 * a "Show more" button while there is a next page, each press adding the next page's rows.
 * `key` names the rows in the answer, `draw` makes the table of all rows so far, `empty`
 * is said when there are none. Answers the rows of the first page.
 */
async function pagedList(box, path, key, draw, empty) {
  let rows = [];
  const next = async (token) => {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api("GET", token ? `${path}${sep}page_token=${encodeURIComponent(token)}` : path);
    rows = rows.concat(page[key]);
    const shown = [rows.length ? draw(rows) : placeholder(empty)];
    if (page.next_page_token) {
      const more = el("button", { type: "button", className: "secondary more", textContent: "Show more" });
      more.addEventListener("click", async () => {
        more.disabled = true;
        more.textContent = "Loading…";
        try {
          await next(page.next_page_token);
        } catch (e) {
          more.replaceWith(placeholder(plainly(e), "error"));
        }
      });
      shown.push(more);
    }
    box.replaceChildren(...shown);
    return page[key];
  };
  return next("");
}

/** A consignment's status in words. */
const STATUS = {
  pending: "Booking…", booked: "Booked", rejecting: "Rejecting…", rejected: "Rejected",
  cancelling: "Cancelling…", cancelled: "Cancelled", failing: "Giving up…", failed: "Failed",
};

/** A status badge. */
const badge = (status) => el("span", { className: `badge ${status}`, textContent: STATUS[status] || status });

/** A vessel's name from `vessels` (a Map or list), else its id. */
function vesselName(vessels, id) {
  const v = vessels instanceof Map ? vessels.get(id) : vessels.find((x) => x.id === id);
  return v ? v.name : id;
}

/**
 * The fleet for naming vessels and saying why none fits: its first 500 vessels (smallest
 * first), or none when they cannot be read; `complete` says whether that is all of them.
 */
async function fleet() {
  try {
    const page = await api("GET", "/vessels?page_size=500");
    return Object.assign(page.vessels, { complete: !page.next_page_token });
  } catch (e) {
    return [];
  }
}

/**
 * Why no vessel takes `need` ({containers, weight}), from the fleet's room: "No vessel can
 * carry 2,000,000,000 kg; the largest takes 199,000,000 kg."
 */
function noRoom(need, vessels) {
  const open = vessels.filter((v) => v.available);
  if (!open.length) return "There is no vessel to carry it yet: add one on the Vessels page.";
  // The largest are past the first 500: say what is known.
  if (vessels.complete === false) return `No vessel has room for ${containers(need.containers)} and ${kg(need.weight)} now.`;
  const most = (key) => Math.max(...open.map((v) => v[key]));
  const roomC = most("remaining_capacity");
  const roomW = most("remaining_weight");
  const tooHeavy = need.weight > roomW;
  const tooMany = need.containers > roomC;
  if (tooHeavy && tooMany) {
    return `No vessel can carry ${containers(need.containers)} or ${kg(need.weight)}; the largest takes ${containers(roomC)} and ${kg(roomW)}.`;
  }
  if (tooHeavy) return `No vessel can carry ${kg(need.weight)}; the largest takes ${kg(roomW)}.`;
  if (tooMany) return `No vessel has room for ${containers(need.containers)}; the largest takes ${containers(roomC)}.`;
  return `No one vessel has room for both ${containers(need.containers)} and ${kg(need.weight)} now. Try fewer containers or less weight.`;
}

// ---- pages ---------------------------------------------------------------------------------

/** The landing page: what shippy is, Log in, Create account. */
function welcome(view, notice) {
  notify(view, notice);
}

/** Log in; lands where this tab was going. */
function login(view, notice) {
  notify(view, notice);
  const remembered = sessionStorage.getItem("shippy.signed-up");
  if (remembered) $("#login-email", view).value = remembered;
  handle($("#login-form", view), async (data) => {
    const email = String(data.get("email")).trim();
    let answer;
    try {
      answer = await api("POST", "/auth/login", { email, password: data.get("password") });
    } catch (e) {
      if (e.status === 401) throw problem("Wrong email or password. Check both and try again.");
      throw e;
    }
    session.save(answer.token, email, answer.expires_at);
    sessionStorage.removeItem("shippy.signed-up");
    goHash(destination());
  });
}

/** Create an account, then log in. */
function signup(view) {
  handle($("#signup-form", view), async (data) => {
    const user = {
      name: String(data.get("name")).trim(),
      company: String(data.get("company")).trim(),
      email: String(data.get("email")).trim(),
      password: data.get("password"),
    };
    try {
      await api("POST", "/users", user);
    } catch (e) {
      if (e.status === 409) throw new Problems([{ field: "email", code: "taken", text: wordsFor("signup", "email", "taken") }]);
      throw e;
    }
    sessionStorage.setItem("shippy.signed-up", user.email);
    go("login", "Account created. Log in to start shipping.");
  });
}

/** Your vessels, then the fleet, a page at a time; a form to add a vessel and one to find a vessel for a load. */
async function vessels(view) {
  const list = $("#vessel-list", view);
  const yours = $("#my-vessel-list", view);
  // Reads your vessels and the fleet again and draws them; yours only when you have some.
  const load = async () => {
    try {
      const mine = await pagedList(yours, "/vessels?mine=true", "vessels", vesselTable, "");
      $("#my-vessels", view).hidden = !mine.length;
      await pagedList(list, "/vessels", "vessels", vesselTable, "No vessels yet. Add one above.");
    } catch (e) {
      list.replaceChildren(placeholder(plainly(e), "error"));
    }
  };
  handle($("#vessel-form", view), async (data) => {
    const vessel = { id: String(data.get("id")).trim(), name: String(data.get("name")).trim(),
      capacity: Number(data.get("capacity")), max_weight: Number(data.get("max_weight")) };
    let created;
    try {
      created = (await api("POST", "/vessels", vessel)).vessel;
    } catch (e) {
      if (e.status === 409) throw new Problems([{ field: "id", code: "taken", text: wordsFor("vessel", "id", "taken") }]);
      throw e;
    }
    $("#vessel-form", view).reset();
    notify(view, `${created.name} is added: room for ${containers(created.capacity)} and ${kg(created.max_weight)}.`);
    await load();
  });
  handle($("#find-form", view), async (data) => {
    const result = $("#find-result", view);
    result.hidden = true;
    const need = { containers: Number(data.get("capacity")), weight: Number(data.get("max_weight")) };
    const q = new URLSearchParams({ capacity: need.containers, max_weight: need.weight });
    let vessel;
    try {
      ({ vessel } = await api("GET", `/vessels/available?${q}`));
    } catch (e) {
      if (e.status === 404) throw problem(noRoom(need, await fleet()));
      throw e;
    }
    result.textContent = `${vessel.name} (${vessel.id}) can carry it: it has room left for ${containers(vessel.remaining_capacity)} and ${kg(vessel.remaining_weight)}.`;
    result.hidden = false;
    announce(result.textContent);
  });
  await load();
}

/** The fleet as a table: name and id, how full in containers and in kg, available. */
function vesselTable(list) {
  return table(["Vessel", "Containers booked", "Weight booked", "Available"],
    list.map((v) => [
      el("span", { className: "name" }, el("strong", { textContent: v.name }), " ", el("span", { className: "muted", textContent: v.id })),
      fill(v.capacity, v.remaining_capacity, Number(v.capacity) === 1 ? "container" : "containers"),
      fill(v.max_weight, v.remaining_weight, "kg"),
      v.available ? "Yes" : "No",
    ]));
}

/** Booking consignments (with the containers editor) and your list of them. */
async function consignments(view, notice) {
  notify(view, notice);
  let attempt = null;
  let sent = [];
  let rows = 0;
  const form = $("#consignment-form", view);
  const list = $("#consignment-list", view);
  const box = $("#containers", view);
  // Adds a blank container row.
  const addRow = () => {
    const row = containerRow(++rows, renumber);
    box.appendChild(row);
    renumber();
    return row;
  };
  // Numbers the rows by where they are now.
  const renumber = () => [...box.children].forEach((row, i) => numberRow(row, i + 1));
  $("#add-container", view).addEventListener("click", () => $("input", addRow()).focus());
  addRow();
  // Reads your consignments (and the vessels' names) again and draws them.
  const load = async () => {
    try {
      const vessels = await fleet();
      await pagedList(list, "/consignments", "consignments", (mine) => consignmentTable(mine, vessels),
        "No consignments yet. Book one above.");
    } catch (e) {
      list.replaceChildren(placeholder(plainly(e), "error"));
    }
  };
  // The containers' own check; remembers which rows are sent, for the API's field names.
  const check = () => {
    const { problems, filled } = containerProblems(box);
    sent = filled;
    return problems;
  };
  // The input an API field name means: `containers[N].origin` is the Nth row sent.
  const locate = (field) => {
    const m = field.match(/^containers\[(\d+)\]\.(\w+)$/);
    if (m) return sent[Number(m[1])] ? $(`[name=${m[2]}]`, sent[Number(m[1])]) : $("#containers-set", view);
    return field === "containers" ? $("#containers-set", view) : byName(form, field);
  };
  handle(form, async (data) => {
    const consignment = {
      description: String(data.get("description")).trim(),
      weight: Number(data.get("weight")),
      containers: sent.map(containerOf),
    };
    // One key per attempt: pressing Book again with the same details after a 503 or a lost
    // answer retries the same booking, and the API books it once. Changed details, or any
    // answer, start a new attempt with a new key.
    const details = JSON.stringify(consignment);
    if (!attempt || attempt.details !== details) attempt = { key: crypto.randomUUID(), details };
    let booked;
    try {
      booked = (await api("POST", "/consignments", consignment, { "idempotency-key": attempt.key })).consignment;
    } catch (e) {
      if (e.status === 503 || e.status === 0) throw unfinished(e);
      attempt = null;
      if (e.status === 422) {
        await load();
        throw problem(`${noRoom({ containers: consignment.containers.length, weight: consignment.weight }, await fleet())} It is kept in your list below as rejected; nothing was booked.`);
      }
      throw refusedBooking(e);
    }
    attempt = null;
    form.reset();
    box.replaceChildren();
    addRow();
    const vessels = await fleet();
    notify(view, `“${booked.description}” is booked on ${vesselName(vessels, booked.vessel_id)}.`);
    await load();
  }, { check, locate });
  await load();
}

/** A new row of the containers editor, numbered `n`; `removed` runs after its Remove. */
function containerRow(n, removed) {
  const row = $("#container-row").content.firstElementChild.cloneNode(true);
  row.dataset.row = String(n);
  row.querySelectorAll("input").forEach((input) => {
    input.id = `container-${n}-${input.name}`;
    $(`label[data-for=${input.name}]`, row).htmlFor = input.id;
    input.setAttribute("aria-describedby", input.dataset.hint);
  });
  row.id = `container-${n}`;
  $(".remove", row).addEventListener("click", () => {
    const box = row.parentElement;
    row.remove();
    removed();
    $("#add-container", box.closest("form")).focus();
  });
  return row;
}

/** Writes row `n`'s title and its Remove button's name ("Container 2", "Remove container 2"). */
function numberRow(row, n) {
  $(".row-title", row).textContent = `Container ${n}`;
  $(".remove", row).setAttribute("aria-label", `Remove container ${n}`);
  row.dataset.number = String(n);
}

/** A row's container as the API takes it. */
function containerOf(row) {
  const value = (name) => $(`[name=${name}]`, row).value.trim();
  return { customer_id: value("customer_id"), origin: value("origin"), user_id: value("user_id") };
}

/**
 * What is wrong with the containers: none at all, or a half-filled row (a customer id without
 * an origin, or the other way round), named by its number. Blank rows are left out.
 */
function containerProblems(box) {
  const problems = [];
  const filled = [...box.children].filter((row) => Object.values(containerOf(row)).some(Boolean));
  for (const row of filled) {
    const c = containerOf(row);
    const n = row.dataset.number;
    const missing = [["customer_id", "a customer id"], ["origin", "an origin"]].filter(([name]) => !c[name]);
    if (!missing.length) continue;
    missing.forEach(([name, what]) => problems.push({ input: $(`[name=${name}]`, row), text: `Container ${n} needs ${what}` }));
    problems.push({ text: `Container ${n} is half filled: fill in ${missing.map(([, what]) => what).join(" and ")}, or remove it.` });
  }
  if (!filled.length) {
    const text = box.children.length ? "Fill in at least one container: its customer id and origin" : wordsFor("consignment", "containers", "required");
    problems.push({ field: "containers", text });
  }
  return { problems, filled };
}

/** Your consignments as a table: description (a link), status, vessel, containers, weight, when. */
function consignmentTable(mine, vessels) {
  return table(["Consignment", "Status", "Vessel", "Containers", "Weight", "Placed"],
    mine.map((c) => [link(`#/consignment/${encodeURIComponent(c.id)}`, c.description), badge(c.status),
      c.vessel_id ? vesselName(vessels, c.vessel_id) : "—", containers(c.containers.length), kg(c.weight),
      timeEl(Date.parse(c.created_at))]));
}

/** A booking that got no answer, in words that say what to do: the same attempt again. */
function unfinished(e) {
  const why = e.status === 0 ? "shippy could not be reached" : "shippy could not finish it just now";
  return problem(`The booking is not finished: ${why}. Press Book again without changing anything: it will not be booked twice.`);
}

/** A refused booking in plain words. */
function refusedBooking(e) {
  if (e.status === 409) {
    return problem("Your earlier try of this booking was already settled another way (cancelled, or sent with other details): see your list below. Press Book again to book this as a new consignment.");
  }
  return e;
}

/** What each saga step is called, for a person. */
const STEPS = {
  pending: "Received", reserved: "Room reserved", booked: "Booked", rejecting: "No vessel could take it",
  released: "Room given back", rejected: "Rejected", cancelling: "Cancellation asked for", cancelled: "Cancelled",
  failing: "Shippy gave up on it", failed: "Failed",
};

/** What a step did, in plain words, with the vessel by name. */
function stepDetail(step, c, vessels) {
  const on = step.vessel_id ? vesselName(vessels, step.vessel_id) : null;
  switch (step.name) {
    case "pending": return `${containers(c.containers.length)} and ${kg(c.weight)} to book.`;
    case "reserved": return `${containers(c.containers.length)} and ${kg(c.weight)} held on ${on}.`;
    case "booked": return `On ${on}.`;
    case "rejecting": case "rejected": return sentence(c.reason || step.detail);
    case "released": return on ? `The room on ${on} is free again.` : "No room was held, so none needed giving back.";
    case "cancelling": return "You cancelled it.";
    case "cancelled": return "Nothing is held for it any more.";
    default: return sentence(step.detail);
  }
}

/** One consignment: its facts, its steps with their times, its vessel by name, Cancel. */
async function consignment(view, notice, id) {
  const error = $(".error", view);
  const cancel = $("#detail-cancel", view);
  let vessels = [];
  // Draws consignment `c`.
  const show = (c) => {
    $("#detail-title", view).textContent = c.description;
    document.title = `${c.description} · shippy`;
    $("#detail-status", view).replaceWith(Object.assign(badge(c.status), { id: "detail-status" }));
    const vessel = vessels.find((v) => v.id === c.vessel_id);
    const held = c.steps.map((s) => s.name === "reserved" && s.vessel_id).find(Boolean);
    $("#detail-vessel", view).textContent = vessel ? `${vessel.name} (${vessel.id})`
      : c.vessel_id || (held ? `None now (it was on ${vesselName(vessels, held)})` : "None");
    $("#detail-weight", view).textContent = kg(c.weight);
    $("#detail-containers", view).textContent = containers(c.containers.length);
    $("#detail-created", view).replaceChildren(timeEl(Date.parse(c.created_at)));
    $("#detail-reason", view).textContent = c.reason ? sentence(c.reason) : "";
    $("#detail-reason", view).hidden = $("#detail-reason-label", view).hidden = !c.reason;
    // A booking still cancelling (after a 503) finishes when cancelled again.
    cancel.hidden = !["pending", "booked", "cancelling"].includes(c.status);
    $("#detail-steps", view).replaceChildren(...c.steps.map((s) => el("li", {},
      el("strong", { textContent: STEPS[s.name] || sentence(s.name) }), " ", timeEl(Date.parse(s.at)),
      el("p", { textContent: stepDetail(s, c, vessels) }))));
  };
  // Reads the consignment and the vessels again.
  const load = async () => {
    const [{ consignment: c }, list] = await Promise.all([api("GET", `/consignments/${encodeURIComponent(id)}`), fleet()]);
    vessels = list;
    show(c);
  };
  try {
    await load();
  } catch (e) {
    $("#detail-title", view).textContent = e.status === 404 ? "No such consignment of yours" : "Consignment";
    Object.assign(error, { textContent: e.status === 404 ? "It may have been booked by another account, or the link is wrong." : plainly(e), hidden: false });
    return;
  }
  cancel.addEventListener("click", async () => {
    error.hidden = true;
    cancel.disabled = true;
    try {
      show((await api("POST", `/consignments/${encodeURIComponent(id)}/cancel`)).consignment);
      announce("Cancelled. Its room on the vessel is given back.");
      $("#detail-title", view).focus();
    } catch (e) {
      const message = e.status === 503 || e.status === 0
        ? "shippy could not finish cancelling just now. Press Cancel again to finish it."
        : plainly(e);
      Object.assign(error, { textContent: message, hidden: false });
      announce(message);
      await load().catch(() => {});
    } finally {
      cancel.disabled = false;
    }
  });
}

// ---- activity ------------------------------------------------------------------------------

/** The names behind the ids events carry: vessels and your consignments. */
const names = { vessels: new Map(), consignments: new Map() };

/** Reads the vessels' names and your consignments' descriptions again. */
async function learnNames() {
  const [vessels, mine] = await Promise.all([fleet(), api("GET", "/consignments").then((r) => r.consignments).catch(() => [])]);
  vessels.forEach((v) => names.vessels.set(v.id, v));
  mine.forEach((c) => names.consignments.set(c.id, c));
}

/**
 * How each kind of event reads, from its typed detail (`detail.type` and its fields): the
 * service's own `message` is never parsed, so rewording it changes nothing here.
 */
const EVENTS = {
  consignment_pending: (d) => ["Your consignment ", consignmentLink(d.consignment_id), ` (${containers(d.containers)}, ${kg(d.weight)}) was received; shippy is finding a vessel for it.`],
  consignment_booked: (d) => ["Your consignment ", consignmentLink(d.consignment_id), ` was booked on ${vesselName(names.vessels, d.vessel_id)}.`],
  consignment_rejected: (d) => ["Your consignment ", consignmentLink(d.consignment_id), ` was rejected. ${sentence(d.reason)}`],
  consignment_failed: (d) => ["Shippy could not book your consignment ", consignmentLink(d.consignment_id), ` and holds nothing for it. ${sentence(d.reason)}`],
  consignment_cancelled: (d) => ["You cancelled your consignment ", consignmentLink(d.consignment_id), "."],
  capacity_reserved: (d) => [`${vesselName(names.vessels, d.vessel_id)} is holding room for ${containers(d.containers)} and ${kg(d.weight)} for `, consignmentLink(d.consignment_id), "."],
  capacity_released: (d) => [`${vesselName(names.vessels, d.vessel_id)} has room for ${containers(d.containers)} and ${kg(d.weight)} again, given back by `, consignmentLink(d.consignment_id), "."],
  vessel_created: (d) => [d.seeded ? `Shippy added the vessel ${d.name}, for ${containers(d.capacity)} and ${kg(d.max_weight)}.`
    : `You added the vessel ${d.name}, for ${containers(d.capacity)} and ${kg(d.max_weight)}.`],
  user_signed_up: (d) => [`You signed up as ${d.name}. Welcome aboard!`],
  user_logged_out: () => ["You logged out (that session cannot be used any more)."],
};

/** What each service's events are about, as a small heading. */
const TOPICS = { "shippy.consignment": "Booking", "shippy.vessel": "Vessel", "shippy.user": "Account", "shippy.log": "Log" };

/** A consignment by its description, linked to its page (an unknown one by its id's start). */
function consignmentLink(id) {
  const c = names.consignments.get(id);
  const a = link(`#/consignment/${encodeURIComponent(id)}`, c ? c.description : `#${id.slice(0, 8)}`);
  return c ? el("span", {}, "“", a, "”") : a;
}

/** The ids of vessels and consignments `event`'s detail names. */
function mentions(event) {
  const d = event.detail || {};
  return {
    vessels: [d.vessel_id].filter(Boolean),
    consignments: [d.consignment_id].filter(Boolean),
  };
}

/** An event as a sentence (text and links), from its detail; one from before details says its message. */
function say(event) {
  const kind = event.detail && EVENTS[event.detail.type];
  return kind ? kind(event.detail) : [sentence(event.message)];
}

/** The activity feed: recent events as sentences, then new ones live from the stream. */
async function activity(view) {
  const events = $("#events", view);
  const live = $("#live", view);
  const seen = new Map();
  // Writes an event's sentence into its item.
  const draw = (li, e) => li.querySelector("p").replaceChildren(...say(e));
  // Writes every sentence again (once names are known).
  const redraw = () => seen.forEach(({ li, e }) => draw(li, e));
  // Whether an event names a vessel or consignment whose name is not known yet.
  const unknown = (e) => {
    const { vessels, consignments } = mentions(e);
    return vessels.some((v) => !names.vessels.has(v)) || consignments.some((c) => !names.consignments.has(c));
  };
  // Adds an event to the feed (new ones on top), once.
  const show = (e, fresh) => {
    if (seen.has(e.id)) return;
    $(".empty", events)?.remove();
    const li = el("li", { className: fresh ? "event fresh" : "event" },
      el("div", { className: "event-head" }, el("strong", { textContent: TOPICS[e.origin] || e.origin }), timeEl(e.time_unix_ms)),
      el("p"));
    li.dataset.origin = e.origin;
    seen.set(e.id, { li, e });
    draw(li, e);
    if (fresh) events.prepend(li); else events.appendChild(li);
    return li;
  };
  // A "Show older" button under the feed while older events are left, from `token` on.
  const olderFrom = (token) => {
    $("#older", view)?.remove();
    if (!token) return;
    const older = el("button", { id: "older", type: "button", className: "secondary more", textContent: "Show older" });
    older.addEventListener("click", async () => {
      older.disabled = true;
      try {
        const page = await api("GET", `/logs?page_size=50&page_token=${encodeURIComponent(token)}`);
        page.events.forEach((e) => show(e, false));
        olderFrom(page.next_page_token);
      } catch (e) {
        older.replaceWith(placeholder(plainly(e), "error"));
      }
    });
    events.after(older);
  };
  let learning = null;
  // A live event: learns new names first, then shows and says it.
  const fresh = async (e) => {
    if (unknown(e)) {
      learning = learning || learnNames().finally(() => { learning = null; });
      await learning;
    }
    const li = show(e, true);
    if (li) announce(li.querySelector("p").textContent);
  };
  const controller = new AbortController();
  leaving = () => controller.abort();
  try {
    const [first] = await Promise.all([api("GET", "/logs?page_size=50"), learnNames()]);
    events.replaceChildren();
    if (!first.events.length) events.appendChild(el("li", { className: "muted empty", textContent: "Nothing yet. Book a consignment and its story shows up here." }));
    first.events.forEach((e) => show(e, false));
    redraw();
    olderFrom(first.next_page_token);
  } catch (e) {
    events.replaceChildren(el("li", { className: "error", textContent: plainly(e) }));
  }
  let queue = Promise.resolve();
  stream(controller.signal, (e) => { queue = queue.then(() => fresh(e)); }, (state) => {
    live.textContent = state;
    live.classList.toggle("on", state === "live");
  });
}

/** Follows /logs/stream with fetch (EventSource cannot send the token); reconnects. */
async function stream(signal, onEvent, onState) {
  while (!signal.aborted) {
    try {
      const response = await fetch(`${API}/logs/stream`, { headers: { authorization: `Bearer ${session.token}` }, signal });
      // A token the API no longer takes (revoked, expired) will not start working: log in.
      if (response.status === 401) {
        session.clear("rejected");
        sendToLogIn("Your session has ended. Log in again to carry on.");
        return;
      }
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
    if (signal.aborted || !session.token) return;
    onState("reconnecting…");
    await new Promise((r) => setTimeout(r, 1000));
  }
}

watchExpiry();
render();
