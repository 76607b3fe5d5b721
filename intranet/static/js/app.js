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

// The « Visible par » picker: search people, organizations and groups; keep the summary up to date.
document.querySelectorAll("[data-audience-picker]").forEach(function (box) {
  var select = box.querySelector("select");
  var search = box.querySelector("[data-audience-search]");
  var suggestions = box.querySelector("[data-audience-suggestions]");
  var summary = box.querySelector("[data-audience-summary]");
  box.querySelector("[data-audience-search-box]").classList.remove("d-none");
  var timer = null;

  function refreshSummary() {
    var params = new URLSearchParams();
    Array.prototype.forEach.call(select.selectedOptions, function (o) { params.append("e", o.value); });
    fetch(box.dataset.describeUrl + "?" + params.toString(), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) { summary.textContent = data.text; });
  }

  function choose(item) {
    var existing = select.querySelector('option[value="' + item.value + '"]');
    if (!existing) {
      existing = document.createElement("option");
      existing.value = item.value;
      existing.textContent = item.label;
      select.appendChild(existing);
    }
    existing.selected = true;
    var network = select.querySelector('option[value="network:0"]');
    if (network && item.value !== "network:0") { network.selected = false; }
    suggestions.replaceChildren();
    search.value = "";
    refreshSummary();
  }

  select.addEventListener("change", refreshSummary);
  search.addEventListener("input", function () {
    clearTimeout(timer);
    var q = search.value.trim();
    if (q.length < 2) { suggestions.replaceChildren(); return; }
    timer = setTimeout(function () {
      fetch(box.dataset.searchUrl + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          suggestions.replaceChildren();
          data.results.forEach(function (item) {
            var li = document.createElement("li");
            var button = document.createElement("button");
            button.type = "button";
            button.className = "list-group-item list-group-item-action";
            button.textContent = item.label + " — " + item.detail;
            button.addEventListener("click", function () { choose(item); });
            li.appendChild(button);
            suggestions.appendChild(li);
          });
        });
    }, 200);
  });
});
