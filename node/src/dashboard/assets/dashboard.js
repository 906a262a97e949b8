// The autonet dashboard: renders the snapshots of /dashboard/state and /dashboard/ws.
// Plain JS, no build step: the binary embeds this file as it is.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const ATN = 10n ** 18n;
  // Series colours: used nowhere else on the page (the browser test finds the plot by them).
  const COLOURS = ["#e4572e", "#17bebb", "#76b041", "#ffc914", "#8e44ad", "#2e4057", "#c0392b", "#16a085"];

  // Wei ("0x…" hex, as the report's JSON) as whole ATN with six decimals, truncated: the same
  // text as the CLI's amounts.
  function atn(hex) {
    const wei = BigInt(hex);
    const frac = (wei % ATN).toString().padStart(18, "0").slice(0, 6);
    return `${wei / ATN}.${frac} ATN`;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A cell is a string or {text, attrs}.
  function cell(c) {
    return typeof c === "object" ? el("td", c.attrs || {}, c.text) : el("td", {}, c);
  }

  function table(id, head, rows) {
    const t = $(id);
    t.replaceChildren(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))));
    const body = el("tbody");
    for (const r of rows) body.append(el("tr", r.attrs || {}, ...r.cells.map(cell)));
    if (rows.length === 0) {
      body.append(el("tr", {}, el("td", { colspan: head.length, class: "empty" }, "none yet")));
    }
    t.append(body);
  }

  const short = (id) => (id.length > 18 ? id.slice(0, 16) + "…" : id);
  const num = (text, attrs) => ({ text, attrs: Object.assign({ class: "num" }, attrs || {}) });
  const wei = (hex) => num(atn(hex), { "data-wei": hex });

  function renderPeers(s) {
    const counts = new Map(s.activity.map((a) => [a.peer, a]));
    const head = ["peer", "role", "behaviour", "stake", "rewards", "slashed", "mint",
      "commits", "reveals", "votes", "chain"];
    const rows = [];
    for (const p of s.peers) {
      const c = (counts.get(p.name) || { counts: {} }).counts;
      rows.push({ attrs: { "data-peer": p.name }, cells: [
        p.name, p.role, p.behaviour, wei(p.stake_wei), wei(p.rewards_wei),
        wei(p.slashed_wei), wei(p.mint_wei), num(c.commit || 0), num(c.reveal || 0),
        num(c.vote || 0),
        p.balances_match_chain ? "ok" : { text: "MISMATCH", attrs: { class: "bad" } },
      ] });
    }
    if (s.peers.length === 0) {
      // A node reads no balances: its own activity only.
      table("peers", ["peer", "role", "commits", "reveals", "votes"], s.activity.map((a) => ({
        attrs: { "data-peer": a.peer }, cells: [a.peer, a.role, num(a.counts.commit || 0),
          num(a.counts.reveal || 0), num(a.counts.vote || 0)] })));
      return;
    }
    table("peers", head, rows);
  }

  function renderEpochs(s) {
    table("epochs", ["epoch", "task", "model", "accepted", "root scores", "held-out loss", "seconds"],
      s.epochs.map((e) => ({ attrs: { "data-epoch": e.epoch }, cells: [
        num(e.epoch), num(e.task),
        { text: short(e.model_id), attrs: { class: "mono", "data-model-id": e.model_id } },
        num(e.accepted.length),
        e.root_scores.map(([k, v]) => `${k}=${v.toFixed(3)}`).join(" "),
        e.held_out_loss_after == null ? ""
          : `${e.held_out_loss_before.toFixed(4)} → ${e.held_out_loss_after.toFixed(4)}`,
        num(e.seconds.toFixed(1)),
      ] })));
  }

  // What the plot shows: the held-out loss where the model measures it (JEPA), else the root
  // scores, one line per root tendency.
  function series(epochs) {
    if (epochs.some((e) => e.held_out_loss_after != null)) {
      const measured = epochs.filter((e) => e.held_out_loss_after != null);
      // The first epoch's base model at the epoch before it (0: the untrained model).
      const points = [[measured[0].epoch - 1, measured[0].held_out_loss_before],
        ...measured.map((e) => [e.epoch, e.held_out_loss_after])];
      return { title: "held-out loss per epoch", lines: [{ name: "held-out loss", points }] };
    }
    const by = new Map();
    for (const e of epochs) {
      for (const [k, v] of e.root_scores) {
        if (!by.has(k)) by.set(k, []);
        by.get(k).push([e.epoch, v]);
      }
    }
    return { title: "root scores per epoch", lines: [...by].map(([name, points]) => ({ name, points })) };
  }

  function renderPlot(s) {
    const { title, lines } = series(s.epochs);
    $("plot-title").textContent = title;
    const plot = $("plot");
    const W = 720, H = 260, L = 56, R = 40, T = 14, B = 30;
    const all = lines.flatMap((l) => l.points);
    plot.replaceChildren(svg("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#999" }),
      svg("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#999" }));
    $("legend").replaceChildren();
    if (all.length === 0) {
      plot.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no epoch published yet"));
      return;
    }
    const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
    let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (x0 === x1) { x0 -= 1; x1 += 1; }
    if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
    const pad = (y1 - y0) * 0.08;
    y0 -= pad; y1 += pad;
    const X = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const Y = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
    for (let e = Math.ceil(x0); e <= x1; e++) {
      plot.append(svg("text", { x: X(e), y: H - 10, "text-anchor": "middle" }, `epoch ${e}`));
    }
    for (const v of [y0 + pad, y1 - pad]) {
      plot.append(svg("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end" }, v.toFixed(3)));
    }
    lines.forEach((line, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const pts = line.points.map(([x, y]) => `${X(x)},${Y(y)}`).join(" ");
      plot.append(svg("polyline", { points: pts, fill: "none", stroke: colour, "stroke-width": 2 }));
      for (const [x, y] of line.points) {
        plot.append(svg("circle", { cx: X(x), cy: Y(y), r: 4, fill: colour, class: "point",
          "data-series": line.name, "data-epoch": x, "data-value": String(y) }));
      }
      $("legend").append(el("span", { style: `--c: ${colour}` }, line.name));
    });
  }

  function renderOverlay(s) {
    const topics = [...new Set(s.overlay.flatMap((o) => o.mesh.map((m) => m[0])))];
    table("overlay", ["node", "peer id", "connections", "bans", "published / received",
      ...topics.map((t) => `${t} mesh/subscribed`)],
    s.overlay.map((o) => {
      const mesh = new Map(o.mesh.map(([t, m, sub]) => [t, `${m}/${sub}`]));
      return { cells: [o.node, { text: short(o.peer_id), attrs: { class: "mono" } },
        num(o.connected.length), num(o.bans), num(`${o.messages[0]} / ${o.messages[1]}`),
        ...topics.map((t) => num(mesh.get(t) || "–"))] };
    }));
  }

  function renderRest(s) {
    table("tasks", ["epoch", "task", "phase", "by", "at", "what"], s.tasks.map((t) => ({
      attrs: { "data-task": t.task }, cells: [num(t.epoch), num(t.task), t.phase, t.peer,
        num(`${t.at.toFixed(1)}s`), t.text] })));
    table("models", ["model", "holder", "shards"], s.models.map((m) => ({ cells: [
      { text: short(m.model_id), attrs: { class: "mono", "data-model-id": m.model_id } },
      m.holder, m.shards.join(", ")] })));
    $("events").replaceChildren(...s.events.slice().reverse().map((e) => el("li", {},
      `[${e.at.toFixed(1).padStart(6)}s] epoch ${e.epoch} ${e.phase.padEnd(9)} ${e.peer.padEnd(14)} ${e.text}`)));
  }

  function render(s) {
    $("name").textContent = s.name;
    $("epoch").textContent = s.epochs.length;
    $("epoch").dataset.epoch = s.epochs.length;
    $("epochs-planned").textContent = s.epochs_planned == null ? "–" : s.epochs_planned;
    $("state").textContent = s.finished ? "finished" : "running";
    document.body.dataset.finished = String(s.finished);
    $("model").textContent = s.model || "–";
    $("head").textContent = s.head == null ? "–" : s.head;
    $("seconds").textContent = `${s.seconds.toFixed(1)}s`;
    renderPeers(s);
    renderEpochs(s);
    renderPlot(s);
    renderOverlay(s);
    renderRest(s);
  }

  function setConn(text, live) {
    $("conn").textContent = text;
    $("conn").classList.toggle("live", live);
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/dashboard/ws`);
    ws.onopen = () => setConn("live", true);
    ws.onmessage = (m) => render(JSON.parse(m.data));
    // The node may restart or the simulation end: keep the last view and try again.
    ws.onclose = () => {
      setConn("disconnected, retrying", false);
      setTimeout(connect, 2000);
    };
  }

  fetch("/dashboard/state").then((r) => r.json()).then(render).catch(() => {});
  connect();
})();
