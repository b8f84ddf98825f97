"use strict";
//! Renders /api/openapi.json (generated from the gateway's code): a table of contents by tag,
//! then every endpoint with its parameters, request body and responses, schemas expanded.
let spec;

/** An element with properties and children (text stays text). */
function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

/** The schema a $ref points to (followed until it is not one). */
function resolve(schema) {
  while (schema && schema.$ref) schema = spec.components.schemas[schema.$ref.split("/").pop()];
  return schema || {};
}

/** A schema as a readable JSON-like sketch, nested types expanded. */
function sketch(schema, depth = 0, seen = new Set()) {
  const name = schema && schema.$ref ? schema.$ref.split("/").pop() : null;
  if (name && seen.has(name)) return name;
  const s = resolve(schema);
  const next = name ? new Set([...seen, name]) : seen;
  const pad = "  ".repeat(depth + 1);
  if (s.oneOf) return s.oneOf.map((o) => sketch(o, depth, next)).join(" | ");
  if (s.type === "array" || (Array.isArray(s.type) && s.type.includes("array"))) return `[${sketch(s.items, depth, next)}]`;
  if (s.properties) {
    const required = new Set(s.required || []);
    const lines = Object.entries(s.properties).map(([k, v]) => {
      const note = resolve(v).description ? `  // ${resolve(v).description.split("\n")[0]}` : "";
      return `${pad}${k}${required.has(k) ? "" : "?"}: ${sketch(v, depth + 1, next)}${note}`;
    });
    return `{\n${lines.join("\n")}\n${"  ".repeat(depth)}}`;
  }
  const type = Array.isArray(s.type) ? s.type.join(" | ") : s.type || "any";
  return s.format ? `${type} (${s.format})` : type;
}

/** The anchor of one endpoint, e.g. "get-api-v1-vessels-available". */
const anchor = (path, method) => `${method}-${path}`.replace(/[^a-z0-9]+/gi, "-").replace(/-+$/, "").toLowerCase();

/** One endpoint as a card: what it does, its parameters, body and responses. */
function operation(path, method, op) {
  const card = el("section", { className: "card op", id: anchor(path, method) });
  const title = el("h3", {}, el("span", { className: `method ${method}`, textContent: method }), ` ${path}`);
  card.append(title);
  if (op.summary) card.append(el("p", { textContent: op.summary }));
  if (op.description) card.append(el("p", { textContent: op.description }));
  // Public operations say `security: []`: only a requirement asks for a token.
  if (op.security && op.security.length) card.append(el("span", { className: "lock", textContent: "Needs Authorization: Bearer <token>" }));
  const places = { path: "Path parameters", query: "Query parameters", header: "Request headers" };
  for (const [place, heading] of Object.entries(places)) {
    const params = (op.parameters || []).filter((p) => p.in === place);
    if (!params.length) continue;
    card.append(el("h4", { textContent: heading }));
    card.append(el("pre", { textContent: params.map((p) =>
      `${p.name}${p.required ? "" : "?"}: ${sketch(p.schema)}${p.description ? `  // ${p.description}` : ""}`).join("\n") }));
  }
  const body = op.requestBody && op.requestBody.content["application/json"];
  if (body) {
    card.append(el("h4", { textContent: "Request body (application/json)" }), el("pre", { textContent: sketch(body.schema) }));
  }
  card.append(el("h4", { textContent: "Responses" }));
  for (const [status, response] of Object.entries(op.responses || {})) {
    const content = response.content || {};
    const [type, media] = Object.entries(content)[0] || [];
    const text = `${status} ${response.description || ""}` + (media ? `  (${type})\n${sketch(media.schema)}` : "");
    card.append(el("pre", { textContent: text }));
  }
  card.append(el("p", { className: "back" }, el("a", { href: "#contents", textContent: "↑ Contents" })));
  return card;
}

/** The endpoints as [tag, [[path, method, op]]], in the document's order. */
function byTag(doc) {
  const groups = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || "other";
      if (!groups.has(tag)) groups.set(tag, []);
      groups.get(tag).push([path, method, op]);
    }
  }
  return [...groups];
}

/** The first sentence of `text`. */
const firstSentence = (text) => text.split(/(?<=\.)\s/)[0];

/** The table of contents: each tag with links to its endpoints. */
function contents(groups) {
  const nav = el("nav", { className: "card toc", id: "contents" },
    el("h2", { textContent: "Contents" }),
    el("ol", {}, ...groups.map(([tag, ops]) => el("li", {},
      el("span", { className: "tag", textContent: tag }),
      el("ul", {}, ...ops.map(([path, method, op]) => el("li", {},
        el("span", { className: `method ${method}`, textContent: method }), " ",
        el("a", { href: `#${anchor(path, method)}`, textContent: path }),
        op.summary ? el("span", { className: "summary", textContent: ` ${firstSentence(op.summary)}` }) : "")))))));
  nav.setAttribute("aria-label", "Contents");
  return nav;
}

fetch("/api/openapi.json").then((r) => r.json()).then((doc) => {
  spec = doc;
  const main = document.getElementById("docs");
  const groups = byTag(doc);
  main.replaceChildren(el("section", { className: "card" },
    el("h1", { textContent: `${doc.info.title} API ${doc.info.version}` }),
    el("p", { textContent: doc.info.description || "" })), contents(groups));
  for (const [tag, ops] of groups) {
    main.append(el("h2", { className: "group", id: `tag-${tag}`, textContent: tag }));
    for (const [path, method, op] of ops) main.append(operation(path, method, op));
  }
  // The address may name an endpoint that only now exists.
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}).catch((e) => {
  document.getElementById("docs").replaceChildren(el("p", { className: "error", textContent: `Cannot load the API description: ${e.message}` }));
});
