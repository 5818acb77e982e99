// jira-sync console: progressive enhancement only. Every page and form works without this
// file; with it, forms update in place, checks run as you type, lists refresh themselves.
"use strict";
(() => {
  const progress = document.getElementById("progress");
  let busyCount = 0;

  function busy(text) {
    busyCount += 1;
    if (!progress) return;
    progress.querySelector(".text").textContent = text || "Working…";
    progress.hidden = false;
    document.body.setAttribute("aria-busy", "true");
  }
  function idle() {
    busyCount = Math.max(0, busyCount - 1);
    if (busyCount === 0 && progress) {
      progress.hidden = true;
      document.body.removeAttribute("aria-busy");
    }
  }

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  // Replace `target` (a selector) with the answer: a fragment, or the same element of a whole page.
  // keepOpen: the same page again (a refresh), so <details> the person opened stay open
  function swap(target, html, isPage, keepOpen) {
    const current = document.querySelector(target);
    if (!current) return;
    const focusedId = document.activeElement && document.activeElement.id;
    if (isPage) {
      const doc = parse(html);
      const fresh = doc.querySelector(target);
      if (!fresh) { document.documentElement.innerHTML = doc.documentElement.innerHTML; return; }
      if (target === "main" || target === "#main") document.title = doc.title;
      if (keepOpen) keepOpenDetails(current, fresh);
      current.innerHTML = fresh.innerHTML;
    } else {
      current.innerHTML = html;
    }
    swapOutOfBand(current);
    enhance(current);
    if (focusedId) {
      const again = document.getElementById(focusedId);
      if (again) again.focus({ preventScroll: true });
    }
  }

  // A fragment may carry <template data-swap="#id"> parts for elsewhere on the page (the
  // Channels field's error with a live match check, the required-field box with a preview).
  function swapOutOfBand(root) {
    root.querySelectorAll("template[data-swap]").forEach((tpl) => {
      const target = document.querySelector(tpl.dataset.swap);
      if (target) {
        target.replaceChildren(tpl.content.cloneNode(true));
        const input = target.dataset.invalidates && document.getElementById(target.dataset.invalidates);
        if (input) {
          const error = target.querySelector("[id]");
          if (error) {
            input.setAttribute("aria-invalid", "true");
            input.setAttribute("aria-errormessage", error.id);
          } else {
            input.removeAttribute("aria-invalid");
            input.removeAttribute("aria-errormessage");
          }
        }
        enhance(target);
      }
      tpl.remove();
    });
  }

  function keepOpenDetails(oldRoot, newRoot) {
    const before = oldRoot.querySelectorAll("details");
    const after = newRoot.querySelectorAll("details");
    before.forEach((d, i) => { if (after[i]) after[i].open = d.open; });
  }

  const inFlight = {};  // target -> AbortController of the request that will fill it

  async function send(form, submitter, targetOverride) {
    const data = new FormData(form);
    if (submitter && submitter.name) data.set(submitter.name, submitter.value);
    const target = targetOverride || (submitter && submitter.dataset.target) || "main";
    // a newer request for the same part of the page wins: a late answer must not
    // overwrite a form the person has gone on editing
    if (inFlight[target]) inFlight[target].abort();
    const controller = new AbortController();
    inFlight[target] = controller;
    busy((submitter && submitter.dataset.busy) || form.dataset.busy);
    try {
      // getAttribute: the buttons named "action" shadow form.action
      const response = await fetch(form.getAttribute("action"), {
        method: "POST", body: data, credentials: "same-origin", signal: controller.signal,
        headers: { "X-Console-Partial": "1", "X-Console-Target": target },
      });
      const html = await response.text();
      if (response.redirected) { window.location.assign(response.url); return; }
      const isPage = /^\s*<!doctype/i.test(html);
      swap(isPage ? (target === "main" ? "#main" : target) : target, html, isPage);
      if (target === "#preview") {
        const shown = document.querySelector("#preview > *");
        if (shown) shown.scrollIntoView({ block: "start", behavior: "smooth" });
      }
      if (isPage && target === "main") {
        const alert = document.querySelector("#main [role=alert]");
        if (alert) alert.scrollIntoView({ block: "center" });
      }
    } catch (err) {
      if (err.name !== "AbortError") window.alert("The console could not reach the server: " + err);
    } finally {
      if (inFlight[target] === controller) delete inFlight[target];
      idle();
    }
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  function enhance(root) {
    root.querySelectorAll("form[data-enhance]").forEach((form) => {
      if (form.dataset.enhanced) return;
      form.dataset.enhanced = "1";
      form.addEventListener("submit", (ev) => {
        const submitter = ev.submitter;
        if (submitter && submitter.value === "save" && !form.checkValidity()) return;
        ev.preventDefault();
        send(form, submitter);
      });
      const liveMatch = debounce(() => {
        const button = form.querySelector("button[value=match]");
        if (button) send(form, button, "#match-result");
      }, 400);
      form.querySelectorAll("[data-live-match]").forEach((el) => el.addEventListener("input", liveMatch));
      form.querySelectorAll("input[name=trigger]").forEach((el) => el.addEventListener("change", () => {
        const box = document.getElementById("conditions");
        if (box) box.classList.toggle("dimmed", el.value === "manual" && el.checked);
        liveMatch();
      }));
      const reload = () => {
        const button = form.querySelector("button[value=load]");
        if (button) send(form, button, "main");
      };
      form.querySelectorAll("[data-auto-load]").forEach((el) => el.addEventListener("change", reload));
      form.querySelectorAll("[data-project-search]").forEach((input) => projectSearch(form, input, reload));
      // the required-field box follows the mappings (and the severity map, which fills Priority)
      const requiredCheck = debounce(() => send(form, { name: "action", value: "required", dataset: {} }, "#required-fields"), 300);
      form.addEventListener("input", (ev) => { if (ev.target.matches("[data-required-check]")) requiredCheck(); });
      form.addEventListener("change", (ev) => { if (ev.target.matches("select[data-required-check]")) requiredCheck(); });
      form.querySelectorAll("[data-channel-filter]").forEach((input) => channelFilter(input));
    });

    root.querySelectorAll("form[data-busy]:not([data-enhance])").forEach((form) => {
      if (form.dataset.enhanced) return;
      form.dataset.enhanced = "1";
      form.addEventListener("submit", () => busy(form.dataset.busy));
    });

    // filters apply as soon as a choice changes (the Filter button stays for keyboards and no-JS)
    root.querySelectorAll("form[data-live] select").forEach((select) => {
      if (select.dataset.bound) return;
      select.dataset.bound = "1";
      select.addEventListener("change", () => select.form.requestSubmit());
    });

    root.querySelectorAll("form[data-confirm]").forEach((form) => {
      if (form.dataset.confirmBound) return;
      form.dataset.confirmBound = "1";
      form.addEventListener("submit", (ev) => { if (!window.confirm(form.dataset.confirm)) ev.preventDefault(); });
    });

    root.querySelectorAll("button.copy[data-copy]").forEach((button) => {
      if (button.dataset.bound) return;
      button.dataset.bound = "1";
      button.addEventListener("click", async () => {
        const source = document.querySelector(button.dataset.copy);
        if (!source) return;
        const text = source.textContent.trim();
        try {
          await navigator.clipboard.writeText(text);
        } catch (_) {
          const range = document.createRange();
          range.selectNodeContents(source);
          const sel = window.getSelection();
          sel.removeAllRanges();
          sel.addRange(range);
          document.execCommand("copy");
        }
        const label = button.textContent;
        button.textContent = "Copied";
        setTimeout(() => { button.textContent = label; }, 1500);
      });
    });

    root.querySelectorAll("input[name=platform]").forEach((radio) => {
      radio.addEventListener("change", () => {
        document.querySelectorAll("details.platform-help").forEach((d) => {
          d.open = d.dataset.platform === radio.value;
        });
      });
    });
  }

  // The project picker: as the person types, the console asks Jira for matching projects and
  // replaces the list of buttons under the field (the same list the Search button shows
  // without JavaScript); thousands of projects never reach the page at once. Typing a key the
  // list offers, or clicking one, takes that project.
  function projectSearch(form, input, reload) {
    const button = form.querySelector("[data-project-search-button]");
    const offered = () => new Set([...document.querySelectorAll("#project-matches button[value^='pick_project:']")]
      .map((b) => b.value.slice("pick_project:".length)));
    let lastLoaded = input.value;
    const load = () => {
      if (!input.value || input.value === lastLoaded) return;
      lastLoaded = input.value;
      reload();
    };
    const search = debounce(() => { if (button) send(form, button, "#project-matches"); }, 250);
    input.addEventListener("input", () => { if (offered().has(input.value)) load(); else search(); });
  }

  // With many channels seen, a filter box narrows the ticked list (hidden without JavaScript)
  function channelFilter(input) {
    input.hidden = false;
    const items = [...document.querySelectorAll("#channel-picker li[data-channel-name]")];
    input.addEventListener("input", () => {
      const needle = input.value.trim().toLowerCase();
      items.forEach((li) => { li.hidden = needle !== "" && !li.dataset.channelName.includes(needle); });
    });
  }

  // Parts that change on their own (incident lists, counters, an incident's state): one
  // fetch of the page every few seconds replaces each of them, unless the person is typing
  // in one or something else is loading.
  function autoRefresh() {
    const parts = [...document.querySelectorAll("[data-refresh][id]")];
    if (!parts.length) return;
    const seconds = Math.max(2, Math.min(...parts.map((el) => parseInt(el.dataset.refresh, 10) || 5)));
    setInterval(async () => {
      const typing = document.activeElement && document.activeElement.matches("input,textarea,select");
      if (document.hidden || busyCount > 0 || typing) return;
      try {
        const response = await fetch(window.location.href, { credentials: "same-origin" });
        if (!response.ok || response.redirected) return;
        const html = await response.text();
        parts.forEach((el) => swap("#" + el.id, html, true, true));
      } catch (_) { /* offline for a moment: try again next time */ }
    }, seconds * 1000);
  }

  document.documentElement.classList.add("js");
  enhance(document);
  autoRefresh();
})();
