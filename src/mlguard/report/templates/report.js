/* mlguard report: renders the embedded results with filters, sorting and paging.
   Data is only ever put into the page with textContent / option.text, never innerHTML. */
(function () {
  "use strict";
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById("mlguard-data").textContent);
  window.mlguardData = D;  // parsed once; the estate map reads its nodes' results from it
  var C = {};
  D.columns.forEach(function (c, i) { C[c] = i; });
  var T = D.tables;
  var rows = D.rows;
  var N = rows.length;
  var RANK = { status: { FAIL: 0, ERROR: 1, WAIVED: 2, PASS: 3, SKIP: 4 },
               severity: { critical: 0, high: 1, medium: 2, low: 3, info: 4 } };
  var INTERNED = ["status", "severity", "category", "provider", "scope", "region", "type", "policy"];

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function $(id) { return document.getElementById(id); }
  function val(row, key) {
    var v = row[C[key]];
    return INTERNED.indexOf(key) >= 0 ? T[key][v] : v;
  }

  // Lower-cased haystack per row for the free-text filter, built once.
  var hay = new Array(N);
  for (var i = 0; i < N; i++) {
    var r = rows[i];
    var pol = D.policies[T.policy[r[C.policy]]];
    hay[i] = (r[C.uid] + "\u0000" + r[C.name] + "\u0000" + D.messages[r[C.message]] + "\u0000" +
              T.policy[r[C.policy]] + "\u0000" + (pol ? pol.title : "") + "\u0000" + r[C.source]).toLowerCase();
  }

  // ---- filters
  var selects = {};
  INTERNED.forEach(function (key) {
    var sel = $("f-" + key);
    var counts = new Array(T[key].length).fill(0);
    for (var i = 0; i < N; i++) { counts[rows[i][C[key]]]++; }
    var order = T[key].map(function (_, j) { return j; });
    order.sort(function (a, b) {
      var ra = RANK[key], x = ra ? ra[T[key][a]] : T[key][a], y = ra ? ra[T[key][b]] : T[key][b];
      return x < y ? -1 : x > y ? 1 : 0;
    });
    sel.appendChild(new Option("All (" + N + ")", ""));
    order.forEach(function (j) {
      sel.appendChild(new Option((T[key][j] === "" ? "(none)" : T[key][j]) + " (" + counts[j] + ")", String(j)));
    });
    selects[key] = sel;
  });
  var reqSel = $("f-requirement");
  reqSel.appendChild(new Option("All", ""));
  D.requirements.forEach(function (pair) { reqSel.appendChild(new Option(pair[0] + " " + pair[1], pair[0])); });
  // Requirement -> policies mapping also comes through each result's compliance string.
  var compHas = D.compliance.map(function (s) { return " " + s + " "; });

  var state = { sortKey: null, sortDir: 1, page: 0, size: 100, matched: [] };

  // Default order, computed once: FAIL first, then ERROR, WAIVED, PASS, SKIP; most severe first.
  var order = new Array(N);
  var prio = new Array(N);
  for (var o = 0; o < N; o++) {
    order[o] = o;
    prio[o] = RANK.status[T.status[rows[o][C.status]]] * 10 + RANK.severity[T.severity[rows[o][C.severity]]];
  }
  order.sort(function (a, b) { return prio[a] - prio[b] || a - b; });

  function applyFilters() {
    var want = {};
    INTERNED.forEach(function (key) { want[key] = selects[key].value === "" ? -1 : Number(selects[key].value); });
    var q = $("f-q").value.trim().toLowerCase();
    var req = reqSel.value ? " " + reqSel.value + " " : "";
    var out = [];
    for (var n = 0; n < N; n++) {
      var i = order[n], r = rows[i], ok = true;
      for (var k = 0; k < INTERNED.length; k++) {
        var w = want[INTERNED[k]];
        if (w >= 0 && r[C[INTERNED[k]]] !== w) { ok = false; break; }
      }
      if (!ok) { continue; }
      if (req && (r[C.compliance] < 0 || compHas[r[C.compliance]].indexOf(req) < 0)) { continue; }
      if (q && hay[i].indexOf(q) < 0) { continue; }
      out.push(i);
    }
    if (state.sortKey) { sortRows(out); }
    state.matched = out;
    state.page = 0;
    renderPage();
  }

  function sortRows(idx) {
    var key = state.sortKey, dir = state.sortDir, rank = RANK[key];
    var keyOf = function (i) {
      var v = val(rows[i], key);
      return rank ? rank[v] : String(v).toLowerCase();
    };
    var keys = new Array(N);
    idx.forEach(function (i) { keys[i] = keyOf(i); });
    idx.sort(function (a, b) { var x = keys[a], y = keys[b]; return x < y ? -dir : x > y ? dir : a - b; });
  }

  function badge(text) { return el("span", text, "badge " + text); }

  function detailRow(r, colspan) {
    var tr = el("tr", null, "detail");
    var td = el("td");
    td.colSpan = colspan;
    var pol = D.policies[T.policy[r[C.policy]]] || {};
    var dl = el("dl");
    function add(k, v, pre) {
      if (v === undefined || v === null || v === "" || v === -1) { return; }
      dl.appendChild(el("dt", k));
      var dd = el("dd");
      dd.appendChild(pre ? el("pre", v) : el("span", v, "wrap"));
      dl.appendChild(dd);
    }
    add("Resource uid", r[C.uid]);
    add("Policy", T.policy[r[C.policy]] + (pol.title ? ": " + pol.title : ""));
    add("Description", pol.description);
    add("Message", D.messages[r[C.message]]);
    if (r[C.evidence] >= 0) { add("Evidence", JSON.stringify(D.evidence[r[C.evidence]], null, 2), true); }
    add("Remediation", pol.remediation);
    add("CLI", pol.remediation_cli, true);
    add("Terraform", pol.remediation_terraform, true);
    if (pol.references && pol.references.length) { add("References", pol.references.join("\n"), true); }
    if (r[C.compliance] >= 0) { add("Compliance", D.compliance[r[C.compliance]]); }
    if (r[C.waiver] >= 0) {
      var w = D.waivers[r[C.waiver]];
      add("Waiver", w.id + " by " + w.owner + " until " + w.expires + (w.ticket ? " (" + w.ticket + ")" : "") +
          (w.expired ? " EXPIRED" : "") + ": " + w.reason);
    }
    add("Source", r[C.source]);
    add("Fingerprint", r[C.fingerprint]);
    td.appendChild(dl);
    tr.appendChild(td);
    return tr;
  }

  function renderPage() {
    var tbody = document.querySelector("#findings-table tbody");
    var total = state.matched.length;
    var pages = Math.max(1, Math.ceil(total / state.size));
    if (state.page >= pages) { state.page = pages - 1; }
    var start = state.page * state.size, end = Math.min(total, start + state.size);
    var frag = document.createDocumentFragment();
    for (var p = start; p < end; p++) {
      var r = rows[state.matched[p]];
      var tr = el("tr", null, "row");
      tr.dataset.index = String(state.matched[p]);
      var tdS = el("td"); tdS.appendChild(badge(T.status[r[C.status]])); tr.appendChild(tdS);
      tr.appendChild(el("td", T.severity[r[C.severity]]));
      tr.appendChild(el("td", T.category[r[C.category]]));
      tr.appendChild(el("td", T.provider[r[C.provider]]));
      tr.appendChild(el("td", T.scope[r[C.scope]], "wrap"));
      tr.appendChild(el("td", T.region[r[C.region]]));
      tr.appendChild(el("td", T.type[r[C.type]]));
      tr.appendChild(el("td", T.policy[r[C.policy]]));
      tr.appendChild(el("td", r[C.name] || r[C.uid], "wrap resource"));
      tr.appendChild(el("td", D.messages[r[C.message]]));
      var tdB = el("td"), btn = el("button", "Details");
      btn.type = "button";
      btn.setAttribute("aria-expanded", "false");
      btn.setAttribute("aria-label", "Details of " + T.policy[r[C.policy]] + " on " + (r[C.name] || r[C.uid]));
      tdB.appendChild(btn); tr.appendChild(tdB);
      frag.appendChild(tr);
    }
    tbody.replaceChildren(frag);
    var mc = $("match-count");
    mc.dataset.count = String(total);
    mc.textContent = total === N ? "Showing all " + N + " results" : total + " of " + N + " results match";
    $("p-info").textContent = total ? "Rows " + (start + 1) + "-" + end + ", page " + (state.page + 1) + " of " + pages : "No matching results";
    $("p-prev").disabled = state.page === 0;
    $("p-next").disabled = state.page >= pages - 1;
  }

  document.querySelector("#findings-table tbody").addEventListener("click", function (ev) {
    var btn = ev.target.closest("button");
    if (!btn) { return; }
    var tr = btn.closest("tr");
    var next = tr.nextElementSibling;
    if (next && next.classList.contains("detail")) {
      next.remove();
      btn.setAttribute("aria-expanded", "false");
    } else {
      tr.after(detailRow(rows[Number(tr.dataset.index)], tr.children.length));
      btn.setAttribute("aria-expanded", "true");
    }
  });

  document.querySelectorAll("#findings-table th[data-key] button").forEach(function (b) {
    b.addEventListener("click", function () {
      var th = b.parentElement, key = th.dataset.key;
      state.sortDir = state.sortKey === key ? -state.sortDir : 1;
      state.sortKey = key;
      document.querySelectorAll("#findings-table th[data-key]").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", state.sortDir > 0 ? "ascending" : "descending");
      sortRows(state.matched);
      state.page = 0;
      renderPage();
    });
  });

  var timer = null;
  $("f-q").addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(applyFilters, 150);
  });
  INTERNED.concat(["requirement"]).forEach(function (key) { $("f-" + key).addEventListener("change", applyFilters); });
  $("f-size").addEventListener("change", function () { state.size = Number($("f-size").value); renderPage(); });
  $("f-reset").addEventListener("click", function () {
    $("filters").reset();
    state.size = 100;
    state.sortKey = null;
    document.querySelectorAll("#findings-table th[data-key]").forEach(function (h) { h.removeAttribute("aria-sort"); });
    applyFilters();
  });
  $("p-prev").addEventListener("click", function () { state.page--; renderPage(); });
  $("p-next").addEventListener("click", function () { state.page++; renderPage(); });
  document.querySelectorAll("[data-show-requirement]").forEach(function (b) {
    b.addEventListener("click", function () {
      $("filters").reset();
      reqSel.value = b.dataset.showRequirement;
      applyFilters();
      $("findings").scrollIntoView();
      $("f-q").focus();
    });
  });

  // Links from "Since the previous run": show that finding (policy x resource) in the table.
  document.querySelectorAll("a[data-show-policy]").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      var p = T.policy.indexOf(a.dataset.showPolicy);
      if (p < 0) { return; }  // not in this report: the link just goes to the findings section
      ev.preventDefault();
      $("filters").reset();
      selects.policy.value = String(p);
      $("f-q").value = a.dataset.showUid;
      applyFilters();
      $("findings").scrollIntoView();
      $("f-q").focus();
    });
  });

  // ---- waivers (shown apart)
  var waived = [];
  for (var j = 0; j < N; j++) { if (rows[j][C.waiver] >= 0) { waived.push(j); } }
  var wpage = 0, WSIZE = 100;
  function renderWaivers() {
    var pages = Math.max(1, Math.ceil(waived.length / WSIZE));
    var frag = document.createDocumentFragment();
    waived.slice(wpage * WSIZE, (wpage + 1) * WSIZE).forEach(function (i) {
      var r = rows[i], w = D.waivers[r[C.waiver]];
      var tr = el("tr");
      tr.appendChild(el("td", T.policy[r[C.policy]]));
      tr.appendChild(el("td", r[C.name] || r[C.uid], "wrap"));
      tr.appendChild(el("td", w.owner));
      tr.appendChild(el("td", w.reason));
      tr.appendChild(el("td", w.expires + (w.expired ? " (expired)" : "")));
      tr.appendChild(el("td", w.ticket || ""));
      frag.appendChild(tr);
    });
    document.querySelector("#waivers-table tbody").replaceChildren(frag);
    var wc = $("waiver-count");
    wc.dataset.count = String(waived.length);
    wc.textContent = waived.length + " waived results";
    $("w-info").textContent = "Page " + (wpage + 1) + " of " + pages;
    $("w-prev").disabled = wpage === 0;
    $("w-next").disabled = wpage >= pages - 1;
  }
  $("w-prev").addEventListener("click", function () { wpage--; renderWaivers(); });
  $("w-next").addEventListener("click", function () { wpage++; renderWaivers(); });

  applyFilters();
  renderWaivers();
  document.body.dataset.ready = "true";
  window.mlguardRenderMs = performance.now() - t0;
})();
