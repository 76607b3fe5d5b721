// The « Flux Vision » tab: draws the charts and maps from the figures the server embedded in the
// page (<script data-fvt-json>), and applies a filter change without reloading: the server renders
// the tab for the new filters (?fragment=1), this file swaps its parts in and redraws. Without
// JavaScript the page is complete (tables under each chart, the panel is a GET form).
//
// Charts use the canvas renderer and « richText » tooltips: the site's CSP (style-src 'self') forbids
// the inline styles HTML tooltips are made of. Colours are Okabe–Ito (readable by colour-blind people).
(function () {
  "use strict";
  var COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
  var NUMBER = new Intl.NumberFormat("fr-FR", {maximumFractionDigits: 1});
  var charts = [];
  var geo = {};  // map name → promise of its registration

  function fmt(v) { return v === null || v === undefined ? "—" : NUMBER.format(v); }
  function day(iso) { return iso.slice(8, 10) + "/" + iso.slice(5, 7); }
  function readJson(el, selector) {
    var node = el.querySelector(selector);
    return node ? JSON.parse(node.textContent) : null;
  }

  // A chart kept from before a filter change is cleared and drawn again: creating one costs more.
  function chart(el) {
    var c = echarts.getInstanceByDom(el);
    if (c) { c.clear(); return c; }
    c = echarts.init(el, null, {locale: "FR", renderer: "canvas"});
    charts.push(c);
    return c;
  }
  function base(extra) {
    var o = {color: COLORS, animation: false, textStyle: {fontFamily: "system-ui, sans-serif"},
             tooltip: {trigger: "axis", renderMode: "richText", valueFormatter: fmt},
             legend: {top: 0, type: "scroll"}, grid: {left: 8, right: 12, top: 36, bottom: 8, containLabel: true}};
    Object.keys(extra).forEach(function (k) { o[k] = extra[k]; });
    return o;
  }
  function valueAxis() { return {type: "value", axisLabel: {formatter: function (v) { return NUMBER.format(v); }}}; }
  function slot(root, name) { return root.querySelector('[data-chart="' + name + '"]'); }

  // -- the daily curve: one line per category, N-1 aligned (dashed), holidays shaded, bank holidays marked
  // The categories the chosen visitors are: their lines are shown, the others start switched off in
  // the legend (residents, ten times the tourists, would flatten the tourists' season).
  var SHOWN = {touristes: ["Touriste"], excursionnistes: ["Excursionniste"],
               locaux: ["Resident", "HabituellementPresent"]};
  function drawCurve(root, c, labels, comparison, visitors) {
    var el = slot(root, "courbe");
    if (!el) { return; }
    var shown = SHOWN[visitors || "touristes"], selected = {};
    c.series.forEach(function (s) { if (shown && shown.indexOf(s.cle) === -1) { selected[s.nom] = false; } });
    var series = c.series.map(function (s) {
      return {name: s.nom, type: "line", showSymbol: false, connectNulls: false, data: s.valeurs};
    });
    if (c.n1) {
      series.push({name: c.n1.nom, type: "line", showSymbol: false, connectNulls: false, data: c.n1.valeurs,
                   lineStyle: {type: "dashed", width: 1.5}});
    }
    if (comparison && comparison.courbe && comparison.courbe.series.length) {
      var other = comparison.courbe.series;
      var sum = other[0].valeurs.map(function (_v, i) {
        var parts = other.map(function (s) { return s.valeurs[i]; }).filter(function (v) { return v !== null; });
        return parts.length ? parts.reduce(function (a, b) { return a + b; }, 0) : null;
      });
      series.push({name: labels.comparaison.replace("{name}", comparison.nom), type: "line", showSymbol: false,
                   data: sum, lineStyle: {type: "dotted", width: 2}});
    }
    // One invisible series per school zone carries its bands: the legend switches them on and off.
    var first = c.jours[0], last = c.jours[c.jours.length - 1];
    var clamp = function (d) { return d < first ? first : (d > last ? last : d); };
    ["A", "B", "C"].forEach(function (z, i) {
      var runs = (c.vacances && c.vacances[z]) || [];
      series.push({name: labels.vacances.replace("{z}", z), type: "line", data: [], silent: true,
                   itemStyle: {color: ["#56B4E9", "#009E73", "#CC79A7"][i]},
                   markArea: {silent: true, itemStyle: {opacity: 0.12}, label: {show: false},  // names overlap: the legend says them
                              data: runs.map(function (r) { return [{xAxis: clamp(r[0]), name: r[2]}, {xAxis: clamp(r[1])}]; })}});
    });
    if (c.feries && c.feries.length) {
      series.push({name: labels.feries, type: "line", data: [], silent: true, itemStyle: {color: "#999999"},
                   markLine: {silent: true, symbol: "none", label: {show: false}, lineStyle: {type: "dotted", color: "#999999"},
                              data: c.feries.map(function (f) { return {xAxis: f[0], name: f[1]}; })}});
    }
    chart(el).setOption(base({
      legend: {top: 0, type: "scroll", selected: selected},
      xAxis: {type: "category", data: c.jours, axisLabel: {formatter: day}},
      yAxis: valueAxis(), series: series,
      dataZoom: c.jours.length > 62 ? [{type: "inside"}, {type: "slider", height: 18, bottom: 0}] : [],
      grid: {left: 8, right: 12, top: 36, bottom: c.jours.length > 62 ? 30 : 8, containLabel: true},
      tooltip: {trigger: "axis", renderMode: "richText", valueFormatter: fmt}}));
  }

  function drawBars(root, name, categories, series) {
    var el = slot(root, name);
    if (!el) { return; }
    chart(el).setOption(base({xAxis: {type: "category", data: categories}, yAxis: valueAxis(), series: series}));
  }

  function drawMonths(root, m, labels) {
    drawBars(root, "mois", m.mois, [
      {name: labels.francais, type: "bar", stack: "n", data: m.francais},
      {name: labels.etrangers, type: "bar", stack: "n", data: m.etrangers},
      {name: labels.n1, type: "line", data: m.n1, lineStyle: {type: "dashed"}, symbol: "circle", symbolSize: 5}]);
  }
  function drawWeek(root, w, labels) {
    var series = w.arrivees.map(function (a) {
      return {name: labels.arrivees + " · " + a.nom, type: "bar", stack: "a", data: a.valeurs};
    }).concat(w.departs.map(function (a) {
      return {name: labels.departs + " · " + a.nom, type: "bar", stack: "d", data: a.valeurs};
    }));
    drawBars(root, "semaine", w.jours, series);
  }
  function drawStays(root, s) {
    drawBars(root, "sejours", s.classes, s.groupes.map(function (g) { return {name: g.nom, type: "bar", data: g.valeurs}; }));
  }
  function drawDayNight(root, j, labels) {
    drawBars(root, "jour_nuit", j.mois, [{name: labels.jour, type: "bar", data: j.jour},
                                         {name: labels.nuit, type: "bar", data: j.nuit}]);
  }
  function drawProfiles(root, p, labels) {
    var el = slot(root, "profils");
    if (!el) { return; }
    chart(el).setOption(base({
      tooltip: {trigger: "item", renderMode: "richText", valueFormatter: fmt},
      grid: {left: 8, right: "52%", top: 36, bottom: 8, containLabel: true},
      xAxis: {type: "value", splitNumber: 2, axisLabel: {hideOverlap: true, formatter: function (v) { return NUMBER.format(v); }}},
      yAxis: {type: "category", data: p.ages.map(function (a) { return a.nom; }), inverse: true},
      legend: {show: false},
      series: [{name: labels.ages, type: "bar", data: p.ages.map(function (a) { return a.valeur; })},
               {name: labels.csp, type: "pie", radius: ["30%", "60%"], center: ["76%", "55%"],
                label: {fontSize: 10, width: 70, overflow: "break"}, data: p.csp.map(function (g) { return {name: g.nom, value: g.valeur}; })}]}));
  }

  // -- maps: France by department, the world by country (switches with « étrangers »)
  function loadMap(root, kind) {
    if (!geo[kind]) {
      var url = kind === "monde" ? root.dataset.geoWorld : root.dataset.geoFrance;
      geo[kind] = fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (json) {
        var shapes = json;
        if (kind === "monde") {
          // world-atlas is TopoJSON with ISO numeric ids: a GeoJSON whose names are those ids.
          shapes = topojson.feature(json, json.objects.countries);
          shapes.features = shapes.features.filter(function (f) { return f.id !== "010"; });  // Antarctica
          shapes.features.forEach(function (f) { f.properties = {name: String(f.id), label: f.properties.name}; });
        }
        echarts.registerMap(kind, shapes);
        return kind;
      });
    }
    return geo[kind];
  }
  function drawOrigins(root, o, labels) {
    var el = slot(root, "carte");
    if (!el) { return Promise.resolve(); }
    var world = o.carte === "monde";
    var rows = world ? o.pays.filter(function (p) { return p.iso_num; }) : o.departements;
    var names = {};
    var data = rows.map(function (r) {
      var key = world ? r.iso_num : r.code;
      names[key] = r.nom;
      return {name: key, value: r.valeur};
    });
    var c = chart(el);
    return loadMap(root, o.carte).then(function () {
      if (c.isDisposed()) { return; }
      var max = data.reduce(function (m, d) { return Math.max(m, d.value); }, 0) || 1;
      c.setOption({
        animation: false,
        tooltip: {trigger: "item", renderMode: "richText", formatter: function (p) {
          return (names[p.name] || p.name) + " : " + fmt(isNaN(p.value) ? null : p.value);
        }},
        visualMap: {min: 0, max: max, calculable: true, left: 0, bottom: 0, itemHeight: 90,
                    inRange: {color: ["#e8f1f8", "#56B4E9", "#0072B2"]}, formatter: function (v) { return NUMBER.format(Math.round(v)); }},
        series: [{name: labels.volume, type: "map", map: o.carte, roam: true, data: data,
                  itemStyle: {areaColor: "#f4f4f4", borderColor: "#bbbbbb", borderWidth: 0.5},
                  emphasis: {label: {show: false}, itemStyle: {areaColor: "#E69F00"}},
                  select: {disabled: true}}]});
    });
  }

  // -- the daily curve's data table: the fragment a filter change swaps in leaves its body empty (a
  // year is 366 rows, half the fragment); filled here from the page's figures when the table is
  // opened or printed, with the cells fvt_daily_rows writes on the server (a test compares both).
  var CELL = new Intl.NumberFormat("fr-FR", {maximumFractionDigits: 3});
  function fillDaily(root) {
    var body = root.querySelector("tbody[data-fvt-daily-rows]");
    if (!body || body.rows.length) { return; }
    var payload = readJson(root, "[data-fvt-json]");
    var c = payload && payload.data && payload.data.courbe;
    if (!c) { return; }
    var columns = c.series.map(function (s) { return s.valeurs; });
    if (c.n1) { columns.push(c.n1.valeurs); }
    var rows = document.createDocumentFragment();
    c.jours.forEach(function (iso, i) {
      var tr = document.createElement("tr"), th = document.createElement("th");
      th.scope = "row";
      th.textContent = iso.slice(8, 10) + "/" + iso.slice(5, 7) + "/" + iso.slice(0, 4);
      tr.appendChild(th);
      columns.forEach(function (values) {
        var td = document.createElement("td"), v = i < values.length ? values[i] : null;
        td.textContent = v === null || v === undefined ? "—" : CELL.format(v);
        tr.appendChild(td);
      });
      rows.appendChild(tr);
    });
    body.appendChild(rows);
  }

  // -- the network's territories on a map (animateurs' overview)
  function drawNetwork(box) {
    var rows = readJson(box, "[data-fvt-network-json]") || [];
    var el = box.querySelector('[data-chart="reseau"]');
    var placed = rows.filter(function (r) { return r.latitude !== null && r.longitude !== null; });
    if (!el || !placed.length) { return; }
    var lons = placed.map(function (r) { return r.longitude; }), lats = placed.map(function (r) { return r.latitude; });
    var center = [(Math.min.apply(null, lons) + Math.max.apply(null, lons)) / 2,
                  (Math.min.apply(null, lats) + Math.max.apply(null, lats)) / 2];
    var spread = Math.max(Math.max.apply(null, lons) - Math.min.apply(null, lons),
                          1.4 * (Math.max.apply(null, lats) - Math.min.apply(null, lats)), 0.6);
    var biggest = placed.reduce(function (m, r) { return Math.max(m, r.nuitees || 0); }, 0) || 1;
    var c = chart(el);
    loadMap(box, "france").then(function () {
      c.setOption({
        animation: false,
        tooltip: {trigger: "item", renderMode: "richText", formatter: function (p) {
          var r = p.data.row;
          return r.nom + "\n" + box.dataset.nights + " : " + fmt(r.nuitees) +
            (r.evolution === null ? "" : " (" + (r.evolution > 0 ? "+" : "") + fmt(r.evolution) + " %)");
        }},
        geo: {map: "france", roam: true, center: center, zoom: Math.min(40, Math.max(1, 9 / spread)),
              itemStyle: {areaColor: "#f4f4f4", borderColor: "#bbbbbb"}, emphasis: {disabled: true}},
        series: [{type: "scatter", coordinateSystem: "geo",
                  data: placed.map(function (r) {
                    return {name: r.nom, value: [r.longitude, r.latitude, r.nuitees], row: r,
                            symbolSize: 8 + 32 * Math.sqrt((r.nuitees || 0) / biggest),
                            itemStyle: {color: r.evolution === null ? "#999999" : (r.evolution >= 0 ? "#0072B2" : "#D55E00"),
                                        opacity: 0.8}};
                  }),
                  label: {show: true, position: "right", fontSize: 10, formatter: function (p) { return p.data.name; }}}]});
      c.on("click", function (p) { if (p.data && p.data.row) { window.location.href = p.data.row.url; } });
    });
  }

  // -- drawing: the charts on screen at once, the others when the browser is idle or when they come
  // near the screen, whichever is first. A filter change is then shown as soon as what the person
  // sees is drawn (on a phone, one or two charts of eight); a print draws everything first.
  var queue = [];  // {el, name, fn}: charts of the current figures not drawn yet
  var queueStarted = 0;
  var seen = typeof IntersectionObserver === "undefined" ? null : new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (!e.isIntersecting) { return; }
      var job = queue.filter(function (j) { return j.el === e.target; })[0];
      if (job) { run(job); }
    });
  }, {rootMargin: "300px 0px"});
  function onScreen(el) {  // at least partly in the window now (the observer draws the next ones ahead)
    var r = el.getBoundingClientRect();
    return r.width > 0 && r.bottom > 0 && r.top < window.innerHeight;
  }
  function run(job) {
    queue = queue.filter(function (j) { return j !== job; });
    if (seen) { seen.unobserve(job.el); }
    var last = !queue.length, root = job.root;
    Promise.resolve(job.fn()).then(function () {
      if (last && !queue.length) {
        root.dataset.fvtCompleteMs = String(Math.round(performance.now() - queueStarted));
        root.dataset.fvtPending = "0";
      }
    });
  }
  var idle = window.requestIdleCallback || function (fn) { return setTimeout(function () { fn({timeRemaining: function () { return 8; }}); }, 16); };
  function drain(deadline) {
    while (queue.length && (deadline.didTimeout || deadline.timeRemaining() > 6)) { run(queue[0]); }
    if (queue.length) { idle(drain, {timeout: 1500}); }
  }
  window.addEventListener("beforeprint", function () {
    while (queue.length) { run(queue[0]); }
    var root = document.getElementById("fvt-tab");
    if (root) { fillDaily(root); }
  });

  function draw(root, started) {
    charts = charts.filter(function (c) {  // the charts whose box left the page go
      if (document.body.contains(c.getDom())) { return true; }
      c.dispose();
      return false;
    });
    queue.forEach(function (j) { if (seen) { seen.unobserve(j.el); } });
    queue = [];
    queueStarted = started || performance.now();
    var payload = readJson(root, "[data-fvt-json]");
    var labels = readJson(root, "[data-fvt-labels]") || {};
    if (!payload) { return Promise.resolve(); }
    var d = payload.data, spent = [], waits = [];
    // A chart on screen is drawn now (its time kept on the tab: the benchmark prints it); another waits.
    var put = function (name, fn) {
      var el = slot(root, name);
      if (!el) { return; }
      if (!onScreen(el)) {
        queue.push({el: el, name: name, root: root, fn: fn});
        if (seen) { seen.observe(el); }
        return;
      }
      var t = performance.now();
      var done = function () { spent.push(name + ":" + Math.round(performance.now() - t)); };
      var promise = fn();
      if (promise && promise.then) { waits.push(promise.then(done)); } else { done(); }
    };
    if (d.courbe) { put("courbe", function () { drawCurve(root, d.courbe, labels, payload.comparaison, (payload.sel || {}).visiteurs); }); }
    if (d.mois) { put("mois", function () { drawMonths(root, d.mois, labels); }); }
    if (d.semaine) { put("semaine", function () { drawWeek(root, d.semaine, labels); }); }
    if (d.sejours) { put("sejours", function () { drawStays(root, d.sejours); }); }
    if (d.profils) { put("profils", function () { drawProfiles(root, d.profils, labels); }); }
    if (d.jour_nuit) { put("jour_nuit", function () { drawDayNight(root, d.jour_nuit, labels); }); }
    if (d.origines) { put("carte", function () { return drawOrigins(root, d.origines, labels); }); }
    root.dataset.fvtPending = String(queue.length);
    if (queue.length) { idle(drain, {timeout: 1500}); }
    return Promise.all(waits).then(function () {
      root.dataset.fvtChartsMs = spent.join(",") + (queue.length ? " (+" + queue.map(function (j) { return j.name; }).join(",") + " later)" : "");
      if (!queue.length) { root.dataset.fvtCompleteMs = String(Math.round(performance.now() - queueStarted)); }
    });
  }

  // -- filters: apply a change without reloading the page
  function params(form) {
    var p = new URLSearchParams();
    new FormData(form).forEach(function (value, key) { if (value !== "") { p.append(key, value); } });
    return p;
  }
  function swap(root, html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var focused = document.activeElement && document.activeElement.id;
    var kept = {};  // the drawn charts' boxes, put back in place of the new empty ones
    root.querySelectorAll("[data-chart]").forEach(function (el) { kept[el.dataset.chart] = el; });
    ["[data-fvt-head]", "[data-fvt-main]", "[data-fvt-filters]"].forEach(function (sel) {
      var now = root.querySelector(sel), next = doc.querySelector(sel);
      if (now && next) { now.replaceChildren.apply(now, Array.prototype.slice.call(next.childNodes)); }
    });
    root.querySelectorAll("[data-chart]").forEach(function (fresh) {
      var old = kept[fresh.dataset.chart];
      if (!old || !echarts.getInstanceByDom(old)) { return; }
      Array.prototype.slice.call(old.attributes).forEach(function (a) {  // ECharts' own marks stay
        if (a.name !== "style" && a.name.indexOf("_echarts") !== 0) { old.removeAttribute(a.name); }
      });
      Array.prototype.slice.call(fresh.attributes).forEach(function (a) { old.setAttribute(a.name, a.value); });
      fresh.replaceWith(old);
    });
    if (focused && document.getElementById(focused)) { document.getElementById(focused).focus(); }
  }
  function refresh(root, url, push, started) {
    var form = root.querySelector("[data-fvt-filters]");
    root.setAttribute("aria-busy", "true");
    root.dataset.fvtState = "loading";
    var sep = url.indexOf("?") === -1 ? "?" : "&";
    var seq = (root.fvtSeq = (root.fvtSeq || 0) + 1);  // two quick clicks: only the last one is shown
    return fetch(url + sep + "fragment=1", {credentials: "same-origin"}).then(function (r) {
      if (!r.ok) { throw new Error(String(r.status)); }
      return r.text();
    }).then(function (html) {
      if (seq !== root.fvtSeq) { return Promise.reject("stale"); }
      var fetched = performance.now();
      swap(root, html);
      if (push) { history.pushState({fvt: true}, "", url); }
      var swapped = performance.now();
      return draw(root, started).then(function () {
        // Where the time went (the benchmark prints it): answer, swap, charts.
        root.dataset.fvtSplitMs = [fetched - started, swapped - fetched, performance.now() - swapped]
          .map(function (v) { return Math.round(v); }).join(",");
      });
    }).then(function () {
      root.dataset.fvtRedrawMs = String(Math.round(performance.now() - started));
      root.dataset.fvtState = "ready";
      root.removeAttribute("aria-busy");
    }).catch(function (why) {
      if (why === "stale") { return; }
      root.removeAttribute("aria-busy");
      root.dataset.fvtState = "error";
      var labels = readJson(root, "[data-fvt-labels]") || {};
      var alert = document.createElement("div");
      alert.className = "alert alert-danger small";
      alert.setAttribute("role", "alert");
      alert.textContent = labels.erreur || "Erreur";
      form.insertAdjacentElement("afterbegin", alert);
    });
  }

  function wire(root) {
    var timer = null;
    root.addEventListener("change", function (e) {
      var form = e.target.form;
      if (!form || !form.hasAttribute("data-fvt-filters")) { return; }
      var started = performance.now();
      var name = e.target.name;
      if (name === "territoire") {  // another territory is another page (its own address)
        window.location.href = form.action + "?" + params(form).toString();
        return;
      }
      if (name === "du" || name === "au") {
        form.elements.periode.value = "dates";
        if (!form.elements.du.value || !form.elements.au.value) { return; }  // wait for both dates
      }
      if ((name === "du2" || name === "au2") && (!form.elements.du2.value || !form.elements.au2.value)) { return; }
      clearTimeout(timer);
      var go = function () { refresh(root, form.action + "?" + params(form).toString(), true, started); };
      // Dates are typed digit by digit: wait for a pause. A click on a choice applies at once.
      if (/^(du|au)2?$/.test(name)) { timer = setTimeout(go, 300); } else { go(); }
    });
    root.addEventListener("toggle", function (e) {  // toggle does not bubble: caught on the way down
      if (e.target.open) { fillDaily(root); }
    }, true);
    root.addEventListener("submit", function (e) {
      var form = e.target;
      if (!form.hasAttribute("data-fvt-filters")) { return; }
      if (form.elements.territoire && form.elements.territoire.value !== form.dataset.zone) { return; }
      e.preventDefault();
      refresh(root, form.action + "?" + params(form).toString(), true, performance.now());
    });
    window.addEventListener("popstate", function () {
      refresh(root, window.location.pathname + window.location.search, false, performance.now());
    });
    var resizing = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizing);
      resizing = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 100);
    });
  }

  function start() {
    if (typeof echarts === "undefined") { return; }  // the tables stay; nothing else to do
    var root = document.getElementById("fvt-tab");
    if (root) {
      var t0 = performance.now();
      wire(root);
      draw(root, t0).then(function () {
        root.dataset.fvtRedrawMs = String(Math.round(performance.now() - t0));
        root.dataset.fvtState = "ready";
      });
    }
    document.querySelectorAll("[data-fvt-network]").forEach(drawNetwork);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
