/* mlguard report: the estate map. Draws the embedded graph (mlguard-estate) as inline SVG in
   columns data -> training -> models -> serving -> identity, grouped; a click on a group opens or
   closes it, a click on a resource shows its findings (from the report's rows) and its links.
   Data is only ever put into the page as text (textContent), never as markup. */
(function () {
  "use strict";
  var src = document.getElementById("mlguard-estate");
  var section = document.getElementById("estate-map");
  if (!src || !section) { return; }
  var G = JSON.parse(src.textContent);
  var SVG = "http://www.w3.org/2000/svg";
  var COLW = 210, GAP = 40, TOP = 34, GROUP_H = 22, NODE_H = 20, PAD = 8;
  var canvas = document.getElementById("map-canvas");
  var panel = document.getElementById("map-panel");
  var nodes = G.nodes, groups = G.groups, edges = G.edges;
  var open = groups.map(function () { return !G.collapsed; });
  var PAGE = 200;
  var limit = groups.map(function () { return PAGE; });
  var members = groups.map(function () { return []; });
  nodes.forEach(function (n, i) { members[n[0]].push(i); });
  var adj = nodes.map(function () { return []; });
  edges.forEach(function (e, k) { adj[e[0]].push(k); adj[e[1]].push(k); });
  var selected = -1;
  var data = null;

  function rows() {
    if (!data) { data = window.mlguardData || JSON.parse(document.getElementById("mlguard-data").textContent); }
    return data;
  }
  // The report sanitiser's rule (sanitize.terminal_safe) for labels read from the rows: no control
  // character, no bidi override. The map's own strings were sanitised when the report was written.
  var UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
  function rawUid(i) {  // as in the rows: what the findings are matched on
    var r = nodes[i][6];
    return r >= 0 ? String(rows().rows[r][rows().columns.indexOf("uid")]) : G.names[i][0];
  }
  function uidOf(i) { return rawUid(i).replace(UNSAFE, ""); }
  function nameOf(i) {
    var r = nodes[i][6];
    var name = r >= 0 ? String(rows().rows[r][rows().columns.indexOf("name")]).replace(UNSAFE, "") : G.names[i][1];
    return name || uidOf(i);
  }
  function short(text, n) { return text.length > n ? text.slice(0, n - 1) + "\u2026" : text; }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function groupStatus(g) {
    var best = 0;
    members[g].forEach(function (i) {
      var s = nodes[i][2];
      if (s > 0 && (best === 0 || s < best)) { best = s; }
    });
    return G.statuses[best];
  }

  function draw() {
    var pos = new Array(nodes.length);
    var colY = G.stages.map(function () { return TOP; });
    var root = svg("svg", { role: "img", "aria-label": "Estate map" });
    var edgeLayer = svg("g", {});
    root.appendChild(edgeLayer);
    G.stages.forEach(function (title, s) {
      root.appendChild(svg("text", { x: PAD + s * (COLW + GAP), y: 20, "class": "stage-title" }, title));
    });
    var shown = 0;
    groups.forEach(function (g, gi) {
      var s = g[0], x = PAD + s * (COLW + GAP), y = colY[s];
      var head = svg("g", { "class": "map-group " + groupStatus(gi), "data-group": gi, tabindex: "0", role: "button",
                            "aria-expanded": String(open[gi]) });
      head.appendChild(svg("rect", { x: x, y: y, width: COLW, height: GROUP_H, rx: 4 }));
      head.appendChild(svg("rect", { x: x, y: y, width: 5, height: GROUP_H, "class": "st" }));
      head.appendChild(svg("text", { x: x + 10, y: y + 15 },
        (open[gi] ? "\u25be " : "\u25b8 ") + short(g[1], 27) + " (" + g[2] + ")"));
      head.appendChild(svg("title", {}, g[1]));
      root.appendChild(head);
      var anchor = { x: x, y: y + GROUP_H / 2, key: "g" + gi };
      y += GROUP_H + 2;
      var cap = limit[gi];
      members[gi].forEach(function (i, m) {
        if (!open[gi] || (m >= cap && i !== selected)) { pos[i] = anchor; return; }
        var n = nodes[i];
        var cls = "map-node " + G.statuses[n[2]] + (i === selected ? " selected" : "");
        var node = svg("g", { "class": cls, "data-node": i, tabindex: "0", role: "button" });
        node.appendChild(svg("rect", { x: x + 8, y: y, width: COLW - 8, height: NODE_H - 2, rx: 3, "class": "box" }));
        node.appendChild(svg("rect", { x: x + 8, y: y, width: 5, height: NODE_H - 2, "class": "st" }));
        var label = short(nameOf(i), 24) + (n[3] ? "  \u2717" + n[3] : "") + (n[4] ? "  !" + n[4] : "");
        node.appendChild(svg("text", { x: x + 18, y: y + 13 }, label));
        node.appendChild(svg("title", {}, G.types[n[1]] + "\n" + uidOf(i)));
        root.appendChild(node);
        pos[i] = { x: x + 8, y: y + (NODE_H - 2) / 2, key: "n" + i };
        y += NODE_H;
        shown++;
      });
      if (open[gi] && members[gi].length > cap) {  // a large group opens a page at a time
        var more = svg("g", { "class": "map-more", "data-more": gi, tabindex: "0", role: "button" });
        more.appendChild(svg("text", { x: x + 18, y: y + 13 },
          "+ " + (members[gi].length - cap) + " more: show " + Math.min(PAGE, members[gi].length - cap) + " more"));
        root.appendChild(more);
        y += NODE_H;
      }
      colY[s] = y + PAD;
    });
    var seen = {};
    var hot = {};
    if (selected >= 0) { adj[selected].forEach(function (k) { hot[k] = true; }); }
    edges.forEach(function (e, k) {
      var a = pos[e[0]], b = pos[e[1]];
      if (!a || !b || a.key === b.key) { return; }
      var key = a.key < b.key ? a.key + "|" + b.key : b.key + "|" + a.key;
      if (seen[key] && !hot[k]) { return; }
      seen[key] = true;
      if (b.x < a.x) { var t = a; a = b; b = t; }
      var d;
      if (a.x === b.x) {  // same column: a loop out to the right
        var xr = a.x + COLW + 24;
        d = "M" + (a.x + COLW - 8) + "," + a.y + " C" + xr + "," + a.y + " " + xr + "," + b.y + " " + (b.x + COLW - 8) + "," + b.y;
      } else {
        var x1 = a.x + COLW - 8, x2 = b.x, mid = (x1 + x2) / 2;
        d = "M" + x1 + "," + a.y + " C" + mid + "," + a.y + " " + mid + "," + b.y + " " + x2 + "," + b.y;
      }
      var cls = "edge" + (e[2] < 0 ? " cross" : "") + (hot[k] ? " hot" : "");
      var path = svg("path", { d: d, "class": cls });
      path.appendChild(svg("title", {}, G.whys[e[2] < 0 ? -e[2] - 1 : e[2]]));
      edgeLayer.appendChild(path);
    });
    var height = Math.max.apply(null, colY) + PAD;
    root.setAttribute("width", String(PAD * 2 + G.stages.length * (COLW + GAP)));
    root.setAttribute("height", String(height));
    canvas.textContent = "";
    canvas.appendChild(root);
    var c = document.getElementById("map-count");
    c.textContent = nodes.length + " resources in " + groups.length + " groups, " + edges.length + " links (" +
      G.cross + " across providers); " + shown + " resources shown";
    c.dataset.nodes = String(nodes.length);
    c.dataset.edges = String(edges.length);
  }

  function select(i) {
    selected = i;
    open[nodes[i][0]] = true;
    draw();
    var n = nodes[i], uid = rawUid(i);
    panel.textContent = "";
    panel.dataset.uid = uid;
    panel.appendChild(el("h3", nameOf(i)));
    panel.appendChild(el("div", G.types[n[1]] + " \u00b7 " + groups[n[0]][1], "muted"));
    panel.appendChild(el("div", uidOf(i), "wrap muted"));
    var D = rows(), C = {};
    D.columns.forEach(function (c, k) { C[c] = k; });
    var mine = [];
    for (var r = 0; r < D.rows.length; r++) { if (D.rows[r][C.uid] === uid) { mine.push(D.rows[r]); } }
    var rank = { FAIL: 0, ERROR: 1, WAIVED: 2, PASS: 3, SKIP: 4 };
    mine.sort(function (a, b) { return rank[D.tables.status[a[C.status]]] - rank[D.tables.status[b[C.status]]]; });
    panel.appendChild(el("h4", "Findings (" + mine.length + ")"));
    var list = el("ul");
    list.id = "map-findings";
    mine.forEach(function (row) {
      var li = el("li");
      var st = D.tables.status[row[C.status]];
      li.appendChild(el("span", st, "badge " + st));
      li.appendChild(document.createTextNode(" " + D.tables.severity[row[C.severity]] + " " + D.tables.policy[row[C.policy]] + ": "));
      li.appendChild(el("span", D.messages[row[C.message]]));
      list.appendChild(li);
    });
    if (!mine.length) { list.appendChild(el("li", "No results for this resource.", "muted")); }
    panel.appendChild(list);
    var show = el("button", "Show in the findings table", "link");
    show.type = "button";
    show.addEventListener("click", function () {
      var q = document.getElementById("f-q");
      if (!q) { return; }
      q.value = uid;
      q.dispatchEvent(new Event("input"));
      document.getElementById("findings").scrollIntoView();
    });
    panel.appendChild(show);
    panel.appendChild(el("h4", "Links (" + adj[i].length + ")"));
    var links = el("ul");
    links.id = "map-links";
    adj[i].forEach(function (k) {
      var e = edges[k], other = e[0] === i ? e[1] : e[0];
      var li = el("li");
      li.appendChild(document.createTextNode(e[0] === i ? "\u2192 " : "\u2190 "));
      var b = el("button", nameOf(other), "link");
      b.type = "button";
      b.addEventListener("click", function () { select(other); });
      li.appendChild(b);
      li.appendChild(el("span", " (" + G.types[nodes[other][1]] + "): " + G.whys[e[2] < 0 ? -e[2] - 1 : e[2]] +
        (e[2] < 0 ? " [across providers]" : ""), "muted"));
      links.appendChild(li);
    });
    panel.appendChild(links);
    panel.scrollIntoView({ block: "nearest" });
  }

  function activate(target) {
    var g = target.closest("[data-group]"), n = target.closest("[data-node]"), m = target.closest("[data-more]");
    if (n) { select(Number(n.getAttribute("data-node"))); }
    else if (m) { limit[Number(m.getAttribute("data-more"))] += PAGE; draw(); }
    else if (g) { var gi = Number(g.getAttribute("data-group")); open[gi] = !open[gi]; draw(); }
  }
  canvas.addEventListener("click", function (ev) { activate(ev.target); });
  canvas.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); activate(ev.target); }
  });
  document.getElementById("map-expand").addEventListener("click", function () { open = open.map(function () { return true; }); draw(); });
  document.getElementById("map-collapse").addEventListener("click", function () { open = open.map(function () { return false; }); draw(); });
  draw();
  section.dataset.ready = "true";
})();
