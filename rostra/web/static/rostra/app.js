/* Rostra's own JavaScript: small enhancements on top of pages that work without it.
 * - character counters for post text (data-counter / data-max on the textarea)
 * - confirmation prompts for forms with data-confirm
 * - dropdown menus (<details class="menu">) close on outside click and Escape
 * - image slots in the composer appear one at a time
 * - toasts for htmx answers (the "rostra:toast" event from the HX-Trigger header)
 * - service worker registration (the installable app)
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  /* ---- Character counters ----
   * The number is updated on every key; screen readers hear only when it matters (the live
   * region changes when the text gets near the limit, goes over it, or comes back). */
  function updateCounter(textarea) {
    var output = document.getElementById(textarea.dataset.counter);
    if (!output) return;
    var status = document.getElementById(textarea.dataset.counter + "-status");
    var max = parseInt(textarea.dataset.max || "0", 10);
    var used = Array.from(textarea.value.trim()).length;
    var left = max - used;
    var state = left < 0 ? "over" : left <= 20 ? "near" : "ok";
    output.textContent = String(left);
    output.classList.toggle("is-near", state === "near");
    output.classList.toggle("is-over", state === "over");
    if (status && status.dataset.state !== state) {
      status.dataset.state = state;
      status.textContent = state === "over" ? (-left) + " characters over the limit of " + max
        : state === "near" ? left + " characters left" : "";
    }
  }
  function initCounters(root) {
    root.querySelectorAll("textarea[data-counter]").forEach(updateCounter);
  }
  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLTextAreaElement && target.dataset.counter) updateCounter(target);
  });

  /* ---- Image slots: show the next one once the previous has a file ---- */
  function updateSlots(container) {
    var slots = container.querySelectorAll(".media-slot");
    var previousFilled = true;
    slots.forEach(function (slot, index) {
      var input = slot.querySelector("input[type=file]");
      var filled = input && input.files && input.files.length > 0;
      slot.hidden = index > 0 && !previousFilled && !filled;
      previousFilled = filled;
    });
  }
  function initSlots(root) {
    root.querySelectorAll(".media-slots").forEach(updateSlots);
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.type === "file") {
      var container = target.closest(".media-slots");
      if (container) updateSlots(container);
    }
  });

  /* ---- Confirmations ---- */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  /* ---- Menus ---- */
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    var menu = event.target instanceof Element ? event.target.closest("details.menu") : null;
    closeMenus(menu);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector("details.menu[open]");
    if (open) {
      open.removeAttribute("open");
      var summary = open.querySelector("summary");
      if (summary) summary.focus();
    }
  });

  /* ---- Toasts ---- */
  function toast(message) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var item = document.createElement("p");
    item.className = "toast";
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.classList.add("is-leaving"); }, 3200);
    setTimeout(function () { item.remove(); }, 3600);
  }
  document.addEventListener("rostra:toast", function (event) {
    toast(event.detail && event.detail.message);
  });
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && !xhr.getResponseHeader("HX-Trigger")) toast("Something went wrong (" + xhr.status + "). Please try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("You seem to be offline. Please try again.");
  });

  /* ---- After htmx swaps new content in ---- */
  document.addEventListener("htmx:load", function (event) {
    var root = event.target instanceof Element ? event.target : document;
    initCounters(root);
    initSlots(root);
  });

  function init() {
    initCounters(document);
    initSlots(document);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();

  /* ---- The installable app ---- */
  if ("serviceWorker" in navigator && window.isSecureContext) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* the site works without it */ });
    });
  }
})();
