// The hosted Connect portal. Everything it shows comes from Weft's public API, called with the
// page session's token (kept in memory only). Text is always set with textContent.
(function () {
  "use strict";
  const CONFIG = window.__WEFT_PORTAL__ || {};
  delete window.__WEFT_PORTAL__;
  const API = CONFIG.apiBase;
  let token = CONFIG.token;
  const $ = (id) => document.getElementById(id);
  let apps = [];
  let current = null; // the app shown in the detail view
  let poll = null;

  // --- theme ---------------------------------------------------------------------------
  const theme = CONFIG.theme || {};
  const root = document.documentElement.style;
  function luminance(hex) {
    let h = hex.slice(1);
    if (h.length <= 4) h = h.split("").map((c) => c + c).join("");
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16) / 255)
      .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  if (theme.color) {
    root.setProperty("--accent", theme.color);
    root.setProperty("--accent-text", luminance(theme.color) > 0.45 ? "#111" : "#fff");
  }
  if (theme.bgColor) {
    root.setProperty("--bg", theme.bgColor);
    if (luminance(theme.bgColor) < 0.2) {
      for (const [name, value] of [["--surface", "#1a1d24"], ["--text", "#eceef2"],
        ["--muted", "#a1a8b5"], ["--border", "#343a46"]]) root.setProperty(name, value);
      document.documentElement.style.colorScheme = "dark";
    }
  }

  // --- API -----------------------------------------------------------------------------
  async function api(method, path, body) {
    const init = { method, headers: { Authorization: "Bearer " + token } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let answer;
    try {
      answer = await fetch(API + path, init);
    } catch (_) {
      throw new Error("Weft could not be reached. Check your connection and try again.");
    }
    const data = await answer.json().catch(() => null);
    if (!answer.ok) {
      if (answer.status === 401) {
        throw new Error("This page's session has ended. Open the integrations page again.");
      }
      throw new Error((data && data.message) || "Something went wrong (" + answer.status + ").");
    }
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key in node && typeof value !== "string") node[key] = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function iconOf(app) {
    const box = el("span", { class: "icon", "aria-hidden": "true" });
    if (app.icon && (app.icon.startsWith("/") || app.icon.startsWith(location.origin) ||
        app.icon.startsWith("data:"))) {
      const img = el("img", { alt: "", src: app.icon });
      img.addEventListener("error", () => { img.remove(); box.textContent = initial(app); });
      box.append(img);
    } else {
      box.textContent = initial(app);
    }
    return box;
  }
  const initial = (app) => (app.name || app.slug || "?").trim().charAt(0).toUpperCase();

  function say(target, text, kind) {
    const node = $(target);
    node.textContent = text || "";
    node.className = kind || "";
  }

  // --- the list --------------------------------------------------------------------------
  async function loadApps() {
    try {
      const all = await api("GET", "/application");
      const wanted = CONFIG.apps;
      apps = wanted ? all.filter((a) => wanted.includes(a.slug)) : all;
      apps.sort((a, b) => (b.connected - a.connected) || a.name.localeCompare(b.name));
      renderList();
      if (resume.app && apps.some((a) => a.slug === resume.app)) await reopen(resume.app, resume.error);
    } catch (error) {
      say("list-status", error.message, "error");
    }
  }

  function renderList() {
    const query = $("search").value.trim().toLowerCase();
    const shown = apps.filter((a) => !query || [a.name, a.slug, a.description || "", ...(a.tags || [])]
      .some((text) => String(text).toLowerCase().includes(query)));
    const list = $("apps");
    list.replaceChildren(...shown.map((app) => el("li", {},
      el("button", { type: "button", class: "app", "data-slug": app.slug,
        "aria-label": app.name + (app.connected ? ", connected" : app.reauth_required ? ", needs reconnecting" : ""),
        onclick: () => openApp(app.slug) },
        iconOf(app),
        el("span", { class: "text" }, el("span", { class: "name", text: app.name }),
          el("span", { class: "desc", text: app.description || "" })),
        app.reauth_required ? el("span", { class: "badge warn", text: "Reconnect" })
          : app.connected ? el("span", { class: "badge", text: "Connected" }) : null))));
    say("list-status", shown.length ? (query ? shown.length + " of " + apps.length + " apps" : "")
      : (apps.length ? "No app matches “" + query + "”." : "No apps are available yet."), "muted");
  }

  // --- one app ---------------------------------------------------------------------------
  function showList() {
    stopPolling();
    current = null;
    $("detail-view").hidden = true;
    $("list-view").hidden = false;
    renderList();
    const button = document.querySelector('.app[data-slug="' + CSS.escape(lastSlug || "") + '"]');
    (button || $("search")).focus();
  }
  let lastSlug = null;

  async function openApp(slug) {
    lastSlug = slug;
    $("list-view").hidden = true;
    $("detail-view").hidden = false;
    $("detail-body").replaceChildren();
    say("detail-status", "Loading…", "muted");
    try {
      current = await api("GET", "/application/" + encodeURIComponent(slug));
    } catch (error) {
      say("detail-status", error.message, "error");
      return;
    }
    const app = current;
    $("detail-icon").replaceWith(Object.assign(iconOf(app), { id: "detail-icon" }));
    $("detail-title").textContent = app.name;
    $("detail-description").textContent = app.description || "";
    $("detail-title").focus();
    await renderDetail();
  }

  // Back from the provider by redirect: the app's page, saying how it went.
  async function reopen(slug, error) {
    await openApp(slug);
    if (!current || current.slug !== slug) return;
    if (error) {
      say("detail-status", current.name + " was not connected: " + (REASONS[error] ||
        "the sign-in did not finish") + ". Connect again when you are ready.", "error");
    } else if (current.connected && !current.reauth_required) {
      say("detail-status", "Connected " + current.name + ".", "ok");
    }
  }

  async function renderDetail(message) {
    const app = current;
    const body = $("detail-body");
    body.replaceChildren();
    say("detail-status", message || "", message ? "ok" : "");
    if (app.connected && !app.reauth_required) {
      const account = (app.connected_accounts || [])[0] || {};
      body.append(el("div", { class: "card" },
        el("p", {}, el("span", { class: "badge", text: "Connected" }),
          account.identifier ? document.createTextNode(" " + account.identifier) : null),
        el("div", { class: "actions" },
          el("button", { type: "button", class: "danger", text: "Disconnect", onclick: disconnect }))));
      await renderConfig(body);
    } else {
      if (app.reauth_required) say("detail-status", "The connection expired: connect again.", "error");
      body.append(app.auth_type === "oauth2" ? oauthForm(app) : keyForm(app));
    }
  }

  function keyForm(app) {
    const fields = ((app.auth_type_options || {}).keybased || app.auth_input_map || []);
    const form = el("form", { class: "card", novalidate: true, "aria-label": "Connect " + app.name });
    fields.forEach((field, index) => {
      const id = "cred-" + index;
      form.append(el("div", { class: "field" },
        el("label", { for: id, text: (field.label || field.name) + (field.required === false ? " (optional)" : "") }),
        el("input", { id, name: field.name, type: field.type === "password" ? "password" : "text",
          placeholder: field.placeholder || "", required: field.required !== false,
          autocomplete: "off", spellcheck: "false" }),
        field.help_text ? el("span", { class: "help", text: field.help_text }) : null));
    });
    const submit = el("button", { type: "submit", class: "primary", text: "Connect" });
    form.append(el("div", { class: "actions" }, submit));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const credentials = {};
      for (const input of form.querySelectorAll("input")) {
        if (input.required && !input.value.trim()) {
          say("detail-status", (input.labels[0] || {}).textContent + " is required.", "error");
          input.focus();
          return;
        }
        if (input.value !== "") credentials[input.name] = input.value;
      }
      submit.disabled = true;
      say("detail-status", "Connecting…", "muted");
      try {
        await api("POST", "/application/" + encodeURIComponent(app.slug) + "/connection", { credentials });
        await refreshCurrent("Connected " + app.name + ".");
      } catch (error) {
        submit.disabled = false;
        say("detail-status", error.message, "error");
      }
    });
    setTimeout(() => { const first = form.querySelector("input"); if (first) first.focus(); }, 0);
    return form;
  }

  // OAuth: a popup where it can open; else (a phone, a blocked popup) the whole page goes to
  // the provider and comes back through a fresh single-use link of this account, because the
  // link that opened this page is spent. Framed, the page cannot leave: a link opens a tab.
  const framed = window.top !== window.self;
  const narrow = window.matchMedia("(max-width: 640px), (pointer: coarse)").matches;

  function oauthForm(app) {
    const inPlace = !framed && narrow;
    const button = el("button", { type: "button", class: "primary", text: "Connect with " + app.name });
    const card = el("div", { class: "card" },
      el("p", { class: "muted", text: inPlace
        ? "You go to " + app.name + " to sign in and allow access, then come back here."
        : "A window opens where you sign in to " + app.name + " and allow access. Come back here when it is done." }),
      el("div", { class: "actions" }, button));
    button.addEventListener("click", async () => {
      // Open the window now, inside the click, so popup blockers allow it.
      const popup = inPlace ? null : window.open("", "weft-connect", "popup,width=560,height=720");
      button.disabled = true;
      try {
        if (!popup && !framed) return await connectByRedirect(app);
        const { auth_url: authUrl } = await api(
          "POST", "/application/" + encodeURIComponent(app.slug) + "/connection", {});
        if (popup && !popup.closed) {
          popup.location.href = authUrl;
          say("detail-status", "Finish signing in in the other window…", "muted");
        } else {
          card.append(el("p", {}, el("a", { href: authUrl, target: "_blank", rel: "opener",
            text: "Open the " + app.name + " sign-in page" })));
          say("detail-status", "Your browser blocked the window: use the link below.", "muted");
        }
        startPolling(app.slug, popup, button);
      } catch (error) {
        if (popup) popup.close();
        button.disabled = false;
        say("detail-status", error.message, "error");
      }
    });
    return card;
  }

  async function connectByRedirect(app) {
    say("detail-status", "Taking you to " + app.name + "…", "muted");
    const link = await api("POST", "/connect-url", Object.assign({}, theme,
      CONFIG.apps ? { apps: CONFIG.apps } : {}, { expires_in: RESUME_S }));
    const back = new URL(link.hosted_url);
    back.searchParams.set("app", app.slug);
    const { auth_url: authUrl } = await api("POST",
      "/application/" + encodeURIComponent(app.slug) + "/connection", { return_url: back.href });
    window.location.assign(authUrl);
  }
  const RESUME_S = 900; // as long as the provider's part may take (Weft's OAuth state lives 15 min)

  // Back from the provider: which app, and whether the user allowed access. The link in the
  // address is spent now; it leaves the address bar and the history.
  const returned = new URLSearchParams(window.location.search);
  const resume = { app: returned.get("app"), error: returned.get("error") };
  if (returned.has("token")) window.history.replaceState(null, "", window.location.pathname);
  const REASONS = { access_denied: "access was not allowed" };

  function startPolling(slug, popup, button) {
    stopPolling();
    const round = pollRound;
    const started = Date.now();
    let closedSaid = false;
    // The callback page posts how it ended (a denied consent, say) to the window that opened it.
    popupListener = (event) => {
      const said = event.data || {};
      if (!popup || event.source !== popup || said.type !== "weft-oauth" || said.app !== slug) return;
      if (said.ok) return;
      stopPolling();
      popup.close();
      button.disabled = false;
      say("detail-status", current.name + " was not connected: " + (REASONS[said.error] ||
        said.message || "the sign-in did not finish") + ". Connect again when you are ready.", "error");
      button.focus();
    };
    window.addEventListener("message", popupListener);
    poll = setInterval(async () => {
      if (Date.now() - started > 10 * 60 * 1000) { stopPolling(); button.disabled = false; return; }
      try {
        const app = await api("GET", "/application/" + encodeURIComponent(slug));
        if (app.connected && !app.reauth_required && current && current.slug === slug) {
          stopPolling();
          if (popup && !popup.closed) popup.close();
          current = app;
          await renderDetail("Connected " + app.name + ".");
          $("detail-title").focus();
          return;
        }
      } catch (_) { /* keep waiting */ }
      // A poll answered after the wait ended (the callback's message came first and closed the
      // window) must not say "closed" over the reason the message gave.
      if (round !== pollRound) return;
      if (popup && popup.closed && !closedSaid) {
        // Polling goes on: a provider that cuts the window's link to this page looks closed.
        closedSaid = true;
        button.disabled = false;
        say("detail-status", "The sign-in window was closed before " + current.name +
          " was connected. Connect again when you are ready.", "error");
      }
    }, 1500);
  }
  let popupListener = null;
  let pollRound = 0; // one per wait for a popup: stopPolling ends the current one
  function stopPolling() {
    if (poll) clearInterval(poll);
    poll = null;
    pollRound += 1;
    if (popupListener) window.removeEventListener("message", popupListener);
    popupListener = null;
  }

  async function refreshCurrent(message) {
    current = await api("GET", "/application/" + encodeURIComponent(current.slug));
    const listed = apps.findIndex((a) => a.slug === current.slug);
    if (listed >= 0) apps[listed] = Object.assign({}, apps[listed], {
      connected: current.connected, reauth_required: current.reauth_required });
    await renderDetail(message);
  }

  async function disconnect() {
    const app = current;
    if (!window.confirm("Disconnect " + app.name + "? Automations that use it stop working.")) return;
    say("detail-status", "Disconnecting…", "muted");
    try {
      await api("DELETE", "/application/" + encodeURIComponent(app.slug) + "/connection");
      await refreshCurrent("Disconnected " + app.name + ".");
      $("detail-title").focus();
    } catch (error) {
      say("detail-status", error.message, "error");
    }
  }

  // --- configuration ----------------------------------------------------------------------
  let fieldSeq = 0;
  function fieldInput(field, onValue) {
    const id = "f-" + (++fieldSeq);
    const label = (field.name || field.id) + (field.required ? " (required)" : "");
    const help = field.help_text ? el("span", { class: "help", id: id + "-help", text: field.help_text }) : null;
    const described = help ? id + "-help" : undefined;
    let value = field.value;
    onValue(value);
    if (field.field_type === "boolean") {
      const box = el("input", { id, type: "checkbox", checked: value === true, "aria-describedby": described,
        onchange: () => onValue(box.checked) });
      return el("div", { class: "field check" }, box, el("label", { for: id, text: label }), help);
    }
    if (field.field_type === "map") {
      value = Object.assign({}, value || {});
      onValue(value);
      const grid = el("div", { class: "map", role: "group", "aria-labelledby": id });
      (field.labels || []).forEach((item, index) => {
        const inputId = id + "-" + index;
        grid.append(el("span", { id: inputId + "-l", text: item.name || item.value }));
        const control = choice(inputId, field.options, value[item.value], (chosen) => {
          if (chosen === "" || chosen === null) delete value[item.value];
          else value[item.value] = chosen;
        });
        control.setAttribute("aria-labelledby", id + " " + inputId + "-l");
        grid.append(control);
      });
      const problem = field.options_error
        ? el("span", { class: "help error", text: field.options_error.message || field.options_error.error_code })
        : null;
      return el("div", { class: "field" }, el("label", { id, text: label }), grid, problem, help);
    }
    if (field.field_type === "select") {
      const control = choice(id, field.options, value, onValue);
      if (described) control.setAttribute("aria-describedby", described);
      const problem = field.options_error
        ? el("span", { class: "help error", text: field.options_error.message || "" }) : null;
      return el("div", { class: "field" }, el("label", { for: id, text: label }), control, problem, help);
    }
    if (field.field_type === "json") {
      const area = el("textarea", { id, "aria-describedby": described, spellcheck: "false" });
      area.value = value === undefined || value === null ? "" : JSON.stringify(value, null, 2);
      area.addEventListener("input", () => {
        try { onValue(area.value.trim() ? JSON.parse(area.value) : null); area.removeAttribute("aria-invalid"); }
        catch (_) { area.setAttribute("aria-invalid", "true"); }
      });
      return el("div", { class: "field" }, el("label", { for: id, text: label }), area, help);
    }
    const number = field.field_type === "number";
    const input = el("input", { id, type: number ? "number" : "text", placeholder: field.placeholder || "",
      "aria-describedby": described });
    input.value = value === undefined || value === null ? "" : String(value);
    input.addEventListener("input", () => onValue(
      input.value === "" ? null : number ? Number(input.value) : input.value));
    return el("div", { class: "field" }, el("label", { for: id, text: label }), input, help);
  }

  function choice(id, options, value, onValue) {
    if (!options) {  // options could not be loaded: type the value
      const input = el("input", { id, type: "text" });
      input.value = value === undefined || value === null ? "" : String(value);
      input.addEventListener("input", () => onValue(input.value));
      return input;
    }
    const select = el("select", { id }, el("option", { value: "", text: "— Choose —" }));
    for (const option of options) {
      const item = el("option", { value: String(option.value), text: option.name ?? String(option.value) });
      if (String(option.value) === String(value)) item.selected = true;
      select.append(item);
    }
    select.addEventListener("change", () => {
      const picked = options.find((o) => String(o.value) === select.value);
      onValue(picked ? picked.value : "");
    });
    return select;
  }

  async function renderConfig(body) {
    const holder = el("div", { class: "card", "aria-busy": "true" }, el("p", { class: "muted", text: "Loading settings…" }));
    body.append(holder);
    let config;
    try {
      config = await api("POST", "/config", { slug: current.slug });
    } catch (error) {
      holder.replaceChildren(el("p", { class: "error", text: error.message }));
      return;
    }
    holder.removeAttribute("aria-busy");
    const appValues = {};
    const workflowState = {};
    const form = el("form", { novalidate: true, "aria-label": current.name + " settings" },
      el("h3", { text: "Settings" }));
    for (const field of config.fields || []) {
      form.append(fieldInput(field, (v) => { appValues[field.id] = v; }));
    }
    for (const workflow of config.workflows || []) {
      const state = workflowState[workflow.id] = { enabled: workflow.enabled, fields: {} };
      const toggleId = "wf-" + (++fieldSeq);
      const toggle = el("input", { id: toggleId, type: "checkbox", checked: workflow.enabled,
        onchange: () => { state.enabled = toggle.checked; } });
      const section = el("fieldset", { class: "workflow" },
        el("legend", { class: "visually-plain", text: workflow.name }),
        workflow.description ? el("p", { class: "help", text: workflow.description }) : null,
        el("div", { class: "field check" }, toggle, el("label", { for: toggleId, text: "Turn on “" + workflow.name + "”" })));
      for (const field of workflow.fields || []) {
        section.append(fieldInput(field, (v) => { state.fields[field.id] = v; }));
      }
      form.append(section);
    }
    if (!(config.fields || []).length && !(config.workflows || []).length) {
      holder.replaceChildren(el("p", { class: "muted", text: "Nothing to set up for " + current.name + "." }));
      return;
    }
    const save = el("button", { type: "submit", class: "primary", text: "Save settings" });
    const note = el("p", { role: "status", "aria-live": "polite" });
    form.append(el("div", { class: "actions" }, save), note);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.querySelector("[aria-invalid=true]")) {
        note.textContent = "Fix the fields marked invalid first."; note.className = "error"; return;
      }
      save.disabled = true;
      note.textContent = "Saving…"; note.className = "muted";
      try {
        const fields = {};
        for (const [key, value] of Object.entries(appValues)) if (value !== null && value !== undefined) fields[key] = value;
        const saved = await api("PUT", "/config", {
          slug: current.slug, config_id: config.config_id, fields,
          workflows: Object.entries(workflowState).map(([id, state]) => ({
            id, enabled: state.enabled,
            fields: Object.fromEntries(Object.entries(state.fields).filter(([, v]) => v !== null && v !== undefined)),
          })),
        });
        const problems = saved.field_errors || [];
        note.textContent = problems.length ? "Saved, but: " + problems.map((p) => p.message).join("; ") : "Settings saved.";
        note.className = problems.length ? "error" : "ok";
      } catch (error) {
        note.textContent = error.message; note.className = "error";
      } finally {
        save.disabled = false;
      }
    });
    holder.replaceChildren(form);
  }

  // --- wiring -----------------------------------------------------------------------------
  $("search").addEventListener("input", renderList);
  $("back").addEventListener("click", showList);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("detail-view").hidden) showList();
  });
  if (theme.name) $("subtitle").textContent = "Connect the apps you use with " + theme.name + ".";
  loadApps();
})();
