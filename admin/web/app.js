// Sluice dashboard: polls /dashboard/data once a second and renders it.
// Every value goes in through textContent: route, cluster and target names
// come from the config and are never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let csrf = "";
let timer = 0;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function num(v, digits) {
  if (v === null || v === undefined) return "–";
  return v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function ms(v) {
  if (v === null || v === undefined) return "–";
  return v < 1 ? num(v, 3) : v < 100 ? num(v, 1) : num(v, 0);
}

function pct(v) {
  return v === null || v === undefined ? "–" : num(v * 100, 1) + "%";
}

function pair(q) {
  return ms(q.p50) + " / " + ms(q.p99);
}

function setLive(ok, text) {
  const p = $("live");
  p.textContent = text;
  p.className = "pill " + (ok ? "ok" : "bad");
}

function renderRoutes(d) {
  const body = $("routes").tBodies[0];
  const rows = d.routes.map((r) => {
    const tr = el("tr");
    tr.dataset.route = r.name;
    const cells = [
      ["name", r.name], ["path", r.path + (r.methods.length ? " (" + r.methods.join(",") + ")" : "")],
      ["cluster", r.cluster],
      ["rps num", num(r.rps, 1)], ["requests num", num(r.requests, 0)],
      ["errors num" + (r.error_rate > 0 ? " hot" : ""), pct(r.error_rate)],
      ["client-errors num", pct(r.client_error_rate)],
      ["total num", pair(r.total_ms)], ["overhead num", pair(r.overhead_ms)], ["upstream num", pair(r.upstream_ms)],
      ["rate-limited num", num(r.rate_limited, 0) + (r.rate_limited_per_second ? " (" + num(r.rate_limited_per_second, 1) + "/s)" : "")],
    ];
    for (const [cls, text] of cells) tr.append(el("td", text, cls));
    return tr;
  });
  body.replaceChildren(...rows);
  $("window").textContent = d.window_seconds > 0 ? "rates over the last " + num(d.window_seconds, 0) + " s" : "";
}

function badge(text, kind) {
  return el("span", text, "badge " + kind);
}

function renderClusters(d) {
  const out = d.clusters.map((c) => {
    const box = el("div", null, "cluster");
    box.dataset.cluster = c.name;
    box.append(el("h3", c.name + " · " + c.balancer));
    const t = el("table");
    const head = el("tr");
    for (const [h, cls] of [["target"], ["weight", "num"], ["health"], ["breaker"], ["in flight", "num"], ["conns (active / idle)", "num"], ["ejections", "num"]]) head.append(el("th", h, cls));
    t.append(el("thead"));
    t.tHead.append(head);
    const body = el("tbody");
    for (const tg of c.targets) {
      const tr = el("tr");
      tr.dataset.target = tg.address;
      tr.append(el("td", tg.address, "address"), el("td", String(tg.weight), "num"));
      const h = el("td", null, "health");
      h.append(badge(tg.healthy ? "healthy" : "unhealthy", tg.healthy ? "ok" : "bad"));
      const b = el("td", null, "breaker");
      b.append(badge(tg.breaker, { closed: "ok", "half-open": "warn", open: "bad" }[tg.breaker] || "off"));
      tr.append(h, b, el("td", String(tg.in_flight), "num in-flight"),
        el("td", num(tg.active_connections + tg.idle_connections, 0) + " (" + num(tg.active_connections, 0) + " / " + num(tg.idle_connections, 0) + ")", "num conns"),
        el("td", String(tg.ejections), "num"));
      body.append(tr);
    }
    t.append(body);
    box.append(t);
    return box;
  });
  $("clusters").replaceChildren(...out);
}

function renderConfig(d) {
  const c = d.config;
  $("config-version").textContent = "#" + c.version;
  $("config-file").textContent = c.file || "(embedded quickstart)";
  $("config-loaded").textContent = new Date(c.loaded_at).toLocaleString();
  const lr = d.last_reload;
  const panel = $("reload-result");
  if (!lr) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  panel.className = "panel" + (lr.ok ? "" : " bad");
  $("reload-summary").textContent = new Date(lr.at).toLocaleString() + " by " + lr.trigger + ": " +
    (lr.ok ? "applied" : "rejected, still serving the previous config. " + lr.error);
  $("reload-errors").replaceChildren(...(lr.errors || []).map((e) => el("li", e.text, "error")));
}

async function poll() {
  clearTimeout(timer);
  try {
    const resp = await fetch("/dashboard/data", { cache: "no-store", credentials: "same-origin" });
    if (resp.status === 401) {
      showLogin();
      return;
    }
    if (!resp.ok) throw new Error("HTTP " + resp.status);
    csrf = resp.headers.get("X-Sluice-CSRF") || "";
    const d = await resp.json();
    renderConfig(d);
    renderRoutes(d);
    renderClusters(d);
    setLive(true, "live · " + new Date(d.generated_at).toLocaleTimeString());
    $("reload").disabled = false;
  } catch (err) {
    setLive(false, "unreachable: " + err.message);
  }
  timer = setTimeout(poll, 1000);
}

function showLogin() {
  $("board").hidden = true;
  $("login").hidden = false;
  $("reload").disabled = true;
  setLive(false, "token needed");
  $("token").focus();
}

async function login(ev) {
  ev.preventDefault();
  const resp = await fetch("/dashboard/login", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: $("token").value }),
  });
  $("token").value = "";
  if (!resp.ok) {
    $("login-error").textContent = resp.status === 401 ? "wrong token" : "login failed (HTTP " + resp.status + ")";
    return;
  }
  $("login-error").textContent = "";
  start(true);
}

async function reload() {
  const btn = $("reload");
  btn.disabled = true;
  try {
    const resp = await fetch("/dashboard/reload", { method: "POST", credentials: "same-origin", headers: { "X-Sluice-CSRF": csrf } });
    if (resp.status === 401) {
      showLogin();
      return;
    }
  } finally {
    btn.disabled = false;
  }
  poll();
}

async function logout() {
  await fetch("/dashboard/logout", { method: "POST", credentials: "same-origin" });
  showLogin();
}

function start(tokenRequired) {
  $("login").hidden = true;
  $("board").hidden = false;
  $("logout").hidden = !tokenRequired;
  poll();
}

async function boot() {
  $("login-form").addEventListener("submit", login);
  $("reload").addEventListener("click", reload);
  $("logout").addEventListener("click", logout);
  // Ask first, so a page without a session shows the form rather than
  // failing a request.
  const resp = await fetch("/dashboard/session", { cache: "no-store", credentials: "same-origin" });
  const s = await resp.json();
  if (s.authenticated) start(s.token_required);
  else showLogin();
}

document.addEventListener("DOMContentLoaded", boot);
