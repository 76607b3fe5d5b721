// Progressive enhancement only: every page works without this file.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Suggestions for inputs carrying data-people-search (a <datalist> of matching people's e-mails).
document.querySelectorAll("input[data-people-search]").forEach(function (input) {
  var list = document.getElementById(input.getAttribute("list"));
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var q = input.value.trim();
    if (q.length < 2 || q.indexOf("@") !== -1) { return; }
    timer = setTimeout(function () {
      fetch(input.dataset.peopleSearch + "&q=" + encodeURIComponent(q), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          list.replaceChildren();
          data.results.forEach(function (item) {
            var opt = document.createElement("option");
            opt.value = item.email;
            opt.textContent = item.label + " — " + item.detail;
            list.appendChild(opt);
          });
        });
    }, 200);
  });
});

// The « Visible par » picker: chips (Tom Select) over the plain multiple select, which the form
// still sends as it is; people are searched on the server, the summary is asked of the server.
document.querySelectorAll("[data-audience-picker]").forEach(function (box) {
  if (typeof TomSelect === "undefined") { return; }  // the plain select keeps working
  var select = box.querySelector("select");
  var summary = box.querySelector("[data-audience-summary]");
  var hint = box.querySelector("[data-audience-nojs-hint]");
  if (hint) { hint.remove(); }
  var d = box.dataset;

  function text(value) { var span = document.createElement("span"); span.textContent = value; return span.innerHTML; }

  function refreshSummary() {
    var params = new URLSearchParams();
    Array.prototype.forEach.call(select.selectedOptions, function (o) { params.append("e", o.value); });
    fetch(d.describeUrl + "?" + params.toString(), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) { summary.textContent = data.text; });
  }

  var picker = new TomSelect(select, {
    plugins: {remove_button: {title: d.remove}},
    valueField: "value", labelField: "label", searchField: ["label", "detail"],
    placeholder: d.placeholder, hidePlaceholder: false, maxOptions: 50,
    closeAfterSelect: true,
    // « Tout le réseau » and a narrower choice exclude each other, as on the server.
    onItemAdd: function (value) {
      if (value === "network:0") { this.setValue(["network:0"], true); }
      else if (this.items.indexOf("network:0") !== -1) { this.removeItem("network:0", true); }
      this.setTextboxValue("");
    },
    onChange: refreshSummary,
    shouldLoad: function (query) { return query.length >= 2; },
    load: function (query, callback) {
      fetch(d.searchUrl + "?kind=user&q=" + encodeURIComponent(query), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) { callback(data.results); })
        .catch(function () { callback(); });
    },
    render: {
      option: function (item, escape) {
        return "<div>" + escape(item.label) + (item.detail ? ' <small class="text-body-secondary">— ' +
          escape(item.detail) + "</small>" : "") + "</div>";
      },
      item: function (item, escape) { return "<div>" + escape(item.label) + "</div>"; },
      no_results: function () { return '<div class="no-results">' + text(d.noResults) + "</div>"; },
      loading: function () { return '<div class="spinner-border spinner-border-sm m-2" role="status"><span class="visually-hidden">' + text(d.loading) + "</span></div>"; }
    }
  });
  picker.control_input.setAttribute("aria-label", box.querySelector("legend").textContent);
});

// ---- Feed ------------------------------------------------------------------------------------

// « Voir plus »: fetch the next page of the feed and append it, without reloading the page.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a[data-feed-more]");
  if (!link) { return; }
  event.preventDefault();
  var box = link.closest("[data-feed-more-box]");
  link.classList.add("disabled");
  link.setAttribute("aria-busy", "true");
  var url = new URL(link.href, window.location.href);
  url.searchParams.set("fragment", "1");
  fetch(url, {credentials: "same-origin"})
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
    .then(function (html) {
      var tpl = document.createElement("template");
      tpl.innerHTML = html;
      var first = tpl.content.querySelector("article");
      box.replaceWith(tpl.content);
      if (first) { var target = document.getElementById(first.id); if (target) { target.setAttribute("tabindex", "-1"); target.focus({preventScroll: true}); } }
    })
    .catch(function () { window.location.href = link.href; });
});

// « J'aime » without reloading: the form still works alone.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.hasAttribute || !form.hasAttribute("data-like")) { return; }
  event.preventDefault();
  fetch(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin",
                      headers: {"Accept": "application/json"}})
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (data) {
      var button = form.querySelector("button");
      button.classList.toggle("btn-primary", data.liked);
      button.classList.toggle("btn-outline-primary", !data.liked);
      button.setAttribute("aria-pressed", data.liked ? "true" : "false");
      form.querySelector("[data-like-label]").textContent = data.label;
      var count = form.parentElement.querySelector("[data-like-count]");
      if (count) { count.textContent = data.count_text; count.hidden = !data.count; }
    })
    .catch(function () { form.submit(); });
});

// A file larger than the limit is refused before it is sent (the server checks it again).
document.addEventListener("change", function (event) {
  var input = event.target;
  if (!input.matches || !input.matches("input[type=file][data-max-bytes]")) { return; }
  var max = parseInt(input.dataset.maxBytes, 10);
  var big = Array.prototype.filter.call(input.files, function (f) { return f.size > max; });
  input.setCustomValidity(big.length ? big[0].name + " : " + input.dataset.tooBig : "");
  input.reportValidity();
});

// @mentions: suggestions from the directory while typing « @Mar… » in a textarea[data-mentions].
(function () {
  var menu = null, timer = null;
  function close() { if (menu) { menu.remove(); menu = null; } }
  function wordAt(area) {
    var before = area.value.slice(0, area.selectionStart);
    // Unicode letters (\w is ASCII only in JS): « @Hélène », « @Zoé » must suggest too.
    var m = /(^|[^\p{L}\p{M}\p{N}_@])@([\p{L}\p{M}\p{N}_'’-]{2,}(?: [\p{L}\p{M}\p{N}_'’-]*)?)$/u.exec(before);
    return m ? {start: before.length - m[2].length - 1, q: m[2]} : null;
  }
  document.addEventListener("input", function (event) {
    var area = event.target;
    if (!area.matches || !area.matches("textarea[data-mentions]")) { return; }
    clearTimeout(timer);
    var at = wordAt(area);
    if (!at) { close(); return; }
    timer = setTimeout(function () {
      fetch("/audiences/recherche?kind=user&q=" + encodeURIComponent(at.q), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          close();
          if (!data.results.length) { return; }
          menu = document.createElement("ul");
          menu.className = "list-group list-unstyled mention-menu shadow-sm";
          menu.setAttribute("role", "listbox");
          data.results.forEach(function (item) {
            var li = document.createElement("li");
            li.setAttribute("role", "none");
            var b = document.createElement("button");
            b.type = "button";
            b.className = "list-group-item list-group-item-action py-1";
            b.setAttribute("role", "option");
            b.textContent = item.label + " — " + item.detail;
            b.addEventListener("click", function () {
              var end = area.selectionStart;
              area.value = area.value.slice(0, at.start) + "@" + item.label + " " + area.value.slice(end);
              var pos = at.start + item.label.length + 2;
              area.focus();
              area.setSelectionRange(pos, pos);
              close();
            });
            li.appendChild(b);
            menu.appendChild(li);
          });
          area.insertAdjacentElement("afterend", menu);
          // Right under the textarea: in a flex container (the composer card, a comment's row) the
          // static position of an absolute box is the container's start, over the text being typed.
          menu.style.top = (area.offsetTop + area.offsetHeight) + "px";
          menu.style.left = area.offsetLeft + "px";
        });
    }, 200);
  });
  // Keyboard: ↓ from the text goes to the suggestions, ↑/↓ move among them, Escape goes back.
  document.addEventListener("keydown", function (event) {
    if (!menu) { return; }
    var buttons = Array.prototype.slice.call(menu.querySelectorAll("button"));
    var index = buttons.indexOf(document.activeElement);
    var area = menu.previousElementSibling;
    if (event.key === "Escape") {
      if (index !== -1 && area) { area.focus(); }
      close();
    } else if (event.key === "ArrowDown" && (index !== -1 || event.target === area)) {
      event.preventDefault();
      buttons[Math.min(index + 1, buttons.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index !== -1) {
      event.preventDefault();
      if (index === 0 && area) { area.focus(); } else { buttons[index - 1].focus(); }
    }
  });
})();

// Lightbox: images of a post open over the page; arrows and Escape work.
(function () {
  var box = document.querySelector("[data-lightbox-box]");
  if (!box) { return; }
  var img = box.querySelector("[data-lightbox-img]");
  var list = [], index = 0, opener = null;
  function show(i) { index = (i + list.length) % list.length; img.src = list[index].dataset.lightbox; img.alt = list[index].title; }
  function close() { box.classList.add("d-none"); img.removeAttribute("src"); if (opener) { opener.focus(); } }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-lightbox]");
    if (!link) { return; }
    event.preventDefault();
    opener = link;
    list = Array.prototype.slice.call(link.closest("[data-lightbox-group]").querySelectorAll("a[data-lightbox]"));
    show(list.indexOf(link));
    box.classList.remove("d-none");
    box.focus();
  });
  box.querySelector("[data-lightbox-close]").addEventListener("click", close);
  box.querySelector("[data-lightbox-prev]").addEventListener("click", function () { show(index - 1); });
  box.querySelector("[data-lightbox-next]").addEventListener("click", function () { show(index + 1); });
  box.addEventListener("click", function (event) { if (event.target === box) { close(); } });
  document.addEventListener("keydown", function (event) {
    if (box.classList.contains("d-none")) { return; }
    if (event.key === "Escape") { close(); }
    if (event.key === "ArrowLeft") { show(index - 1); }
    if (event.key === "ArrowRight") { show(index + 1); }
  });
})();

// « Copier »: copy the value of the input named by data-copy (the iCal subscription address).
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("button[data-copy]");
  if (!button) { return; }
  var input = document.querySelector(button.dataset.copy);
  input.select();
  var done = function () { button.textContent = "✓"; };
  if (navigator.clipboard) { navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); }); }
  else { document.execCommand("copy"); done(); }
});

// FVT import report: follow the worker's progress, then reload to show the report.
document.querySelectorAll("[data-import-state]").forEach(function (box) {
  var bar = box.querySelector("[data-import-bar]");
  var status = box.querySelector("[data-import-status]");
  function poll() {
    if (!document.body.contains(box)) {  // the FVT tab swapped its header in: follow the new box
      box = document.querySelector("[data-import-state]");
      if (!box) { return; }
      bar = box.querySelector("[data-import-bar]");
      status = box.querySelector("[data-import-status]");
    }
    fetch(box.dataset.importState, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.className = "progress-bar progress-w-" + (Math.floor(s.progress / 5) * 5);
        box.querySelector("[role=progressbar]").setAttribute("aria-valuenow", s.progress);
        if (s.status === "done" || s.status === "failed") { window.location.reload(); return; }
        status.firstChild.textContent = status.firstChild.textContent.replace(/\d+ %/, s.progress + " %");
        setTimeout(poll, 1500);
      });
  }
  if (!/done|failed/.test(box.dataset.initial || "")) { setTimeout(poll, 1500); }
});

// Library uploads: drop files on the form (or choose them) and each one is sent on its own with a
// progress bar and its own answer (accepted, or refused with the reason). Without JavaScript the
// form posts every file at once.
document.querySelectorAll("form[data-upload]").forEach(function (form) {
  var input = form.querySelector("input[type=file]");
  var list = document.createElement("ul");
  list.className = "list-unstyled mt-2 mb-0";
  list.setAttribute("aria-live", "polite");
  input.insertAdjacentElement("afterend", list);
  form.classList.add("upload-drop");
  ["dragenter", "dragover"].forEach(function (name) {
    form.addEventListener(name, function (e) { e.preventDefault(); form.classList.add("upload-over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    form.addEventListener(name, function () { form.classList.remove("upload-over"); });
  });
  form.addEventListener("drop", function (e) { e.preventDefault(); send(e.dataTransfer.files); });
  form.addEventListener("submit", function (e) {
    if (!input.files.length) { return; }  // the server says « choisissez au moins un fichier »
    e.preventDefault();
    send(input.files);
  });
  function row(file) {
    var li = document.createElement("li");
    li.className = "mb-2";
    var name = document.createElement("div");
    name.className = "small";
    name.textContent = file.name;
    var outer = document.createElement("div");
    outer.className = "progress";
    outer.setAttribute("role", "progressbar");
    outer.setAttribute("aria-label", file.name);
    outer.setAttribute("aria-valuemin", "0");
    outer.setAttribute("aria-valuemax", "100");
    outer.setAttribute("aria-valuenow", "0");
    var bar = document.createElement("div");
    bar.className = "progress-bar progress-w-0";
    outer.appendChild(bar);
    li.appendChild(name);
    li.appendChild(outer);
    list.appendChild(li);
    return {li: li, name: name, outer: outer, bar: bar};
  }
  function send(files) {
    var pending = files.length, added = 0;
    Array.prototype.forEach.call(files, function (file) {
      var r = row(file);
      var data = new FormData(form);
      data.delete("files");
      data.append("files", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var pct = Math.floor(e.loaded / e.total * 100);
        r.bar.className = "progress-bar progress-w-" + (Math.floor(pct / 5) * 5);
        r.outer.setAttribute("aria-valuenow", pct);
      });
      xhr.addEventListener("loadend", function () {
        var answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = {}; }
        var ok = xhr.status === 200 && answer.added && answer.added.length;
        r.bar.className = "progress-bar progress-w-100 " + (ok ? "bg-success" : "bg-danger");
        r.outer.setAttribute("aria-valuenow", "100");
        var message = document.createElement("div");
        message.className = "small " + (ok ? "text-success" : "text-danger");
        message.textContent = ok ? form.dataset.uploadDone : ((answer.refused && answer.refused[0]) || form.dataset.uploadFailed);
        r.li.appendChild(message);
        if (ok) { added += 1; }
        pending -= 1;
        if (pending === 0 && added) { setTimeout(function () { window.location.reload(); }, 800); }
      });
      xhr.send(data);
    });
  }
});
