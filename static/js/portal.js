// Small behaviours for every page, all optional: without JavaScript each page still works
// (links and forms are real). No inline handlers anywhere: the Content-Security-Policy
// forbids them, so everything is wired here.
(function () {
  "use strict";

  // --- the language menu submits on change (the <noscript> button does it without JS) ---
  document.addEventListener("change", (event) => {
    const select = event.target.closest && event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.requestSubmit();
  });

  // --- recordings chosen for deletion, kept across pages of the same filter -------------
  // Stored per browser tab (sessionStorage), keyed by the filter without page or page size.
  function selectionKey(form) {
    const params = new URLSearchParams(form.dataset.selectionKey || "");
    params.delete("page");
    params.delete("per_page");
    params.sort();
    return "vp-selection:" + params.toString();
  }

  function loadSelection(form) {
    try {
      return JSON.parse(sessionStorage.getItem(selectionKey(form)) || "{}") || {};
    } catch (e) {
      return {};
    }
  }

  function saveSelection(form, chosen) {
    try {
      if (Object.keys(chosen).length) {
        sessionStorage.setItem(selectionKey(form), JSON.stringify(chosen));
      } else {
        sessionStorage.removeItem(selectionKey(form));
      }
    } catch (e) { /* storage full or disabled: selection stays per page */ }
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name]));
  }

  function setUpSelection(scope) {
    const form = scope.querySelector("#delete-form");
    if (!form) return;
    const page = form.dataset.page || "1";
    const boxes = Array.from(document.querySelectorAll("input[name=ids][form=delete-form]"));
    const all = document.querySelector("input[data-select-page]");
    const summary = form.querySelector(".selection");
    const clear = form.querySelector(".clear-selection");
    // The ZIP of the selection is a POST (many ids): it needs the page's CSRF token, which a
    // GET to the deletion page must not carry in its URL. Without JavaScript it stays hidden.
    const zip = form.querySelector("button[data-zip]");
    if (zip) zip.hidden = false;
    let chosen = loadSelection(form);

    function show() {
      const ids = Object.keys(chosen);
      const pages = new Set(Object.values(chosen)).size;
      boxes.forEach((box) => {
        box.checked = Object.prototype.hasOwnProperty.call(chosen, box.value);
        box.closest("tr").classList.toggle("selected", box.checked);
      });
      if (all) {
        const checked = boxes.filter((box) => box.checked).length;
        all.checked = boxes.length > 0 && checked === boxes.length;
        all.indeterminate = checked > 0 && checked < boxes.length;
      }
      summary.hidden = clear.hidden = ids.length === 0;
      if (zip) zip.disabled = ids.length === 0;
      summary.textContent = ids.length === 1 ? form.dataset.one
        : pages > 1 ? format(form.dataset.manyPages, { count: ids.length, pages: pages })
          : format(form.dataset.many, { count: ids.length });
    }

    function choose(box) {
      if (box.checked) chosen[box.value] = page; else delete chosen[box.value];
    }

    boxes.forEach((box) => box.addEventListener("change", () => {
      choose(box);
      saveSelection(form, chosen);
      show();
    }));
    if (all) {
      all.hidden = false;
      all.addEventListener("change", () => {
        boxes.forEach((box) => { box.checked = all.checked; choose(box); });
        saveSelection(form, chosen);
        show();
      });
    }
    clear.addEventListener("click", () => {
      chosen = {};
      saveSelection(form, chosen);
      show();
    });
    // Ids chosen on other pages travel as hidden fields; this page's go with their boxes.
    form.addEventListener("submit", (event) => {
      form.querySelectorAll("input[data-carried]").forEach((input) => input.remove());
      if (zip && event.submitter === zip) {
        const token = document.querySelector("input[name=csrfmiddlewaretoken]");
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = "csrfmiddlewaretoken";
        input.value = token ? token.value : "";
        input.dataset.carried = "";
        form.appendChild(input);
      }
      const here = new Set(boxes.map((box) => box.value));
      Object.keys(chosen).forEach((id) => {
        if (here.has(id)) return;
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = "ids";
        input.value = id;
        input.dataset.carried = "";
        form.appendChild(input);
      });
    });
    show();
  }

  // --- after an htmx swap: say what changed, and keep the keyboard where it was ---------
  function announce(scope) {
    const region = document.getElementById("announcer");
    const source = scope.querySelector("template[data-announce]");
    const text = source ? source.content.textContent.trim() : "";
    if (!region || !text) return;
    region.textContent = "";
    // A fresh text node a moment later is announced even when the text repeats.
    window.setTimeout(() => { region.textContent = text; }, 50);
  }

  document.addEventListener("htmx:afterSettle", (event) => {
    const browser = document.getElementById("browser");
    if (!browser || !browser.contains(event.detail.elt) && event.detail.elt !== browser) return;
    setUpSelection(browser);
    announce(browser);
    // htmx gives focus back to an element with the same id (a pager link, a field); when
    // that element is gone (the last page has no "next"), focus the page indicator.
    const active = document.activeElement;
    if (!active || active === document.body || !document.body.contains(active)) {
      const target = browser.querySelector(".pager .where") || browser.querySelector("h1");
      if (target) target.focus({ preventScroll: false });
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    const browser = document.getElementById("browser");
    if (browser) setUpSelection(browser);
  });
})();
