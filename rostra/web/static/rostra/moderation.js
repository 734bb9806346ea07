/* The moderators' keyboard: one key per action, on top of pages that work without JavaScript.
 *
 * - An element with data-key="r" is the key's target: a submit button is pressed (its form is
 *   submitted through requestSubmit, so confirmations and validation run), a link is followed,
 *   a field with data-focus-key is focused.
 * - Keys are ignored while typing in a field, with a modifier held, or when the target is disabled.
 * - A button with data-confirm asks first (also when clicked); one with data-needs="<field id>"
 *   focuses that field instead of submitting while it is empty (suspending needs a number of days).
 * - A form is sent once: a second key press while the next page loads does nothing.
 * - In the queue, j/k move between cases, x selects one, o or Enter opens it.
 */
(function () {
  "use strict";

  function typing(target) {
    if (!(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    var tag = target.tagName;
    if (tag === "INPUT") return !/^(checkbox|radio|button|submit|reset)$/.test(target.type);  // a ticked box is not typing
    return tag === "TEXTAREA" || tag === "SELECT";
  }

  function usable(element) {
    return element && !element.disabled && !element.closest("[hidden]") && element.getClientRects().length > 0;
  }

  function press(button) {
    var form = button.form;
    if (!form) return;
    if (typeof form.requestSubmit === "function") form.requestSubmit(button);
    else button.click();
  }

  /* Confirmation for the button that submitted (app.js only asks for a whole form's data-confirm). */
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var needs = button && button.dataset && button.dataset.needs && document.getElementById(button.dataset.needs);
    if (needs && !needs.value) {
      event.preventDefault();
      event.stopImmediatePropagation();
      needs.setAttribute("aria-invalid", "true");
      needs.focus();
      return;
    }
    if (button && button.dataset && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    // Pressing Enter in a field submits the form's hidden first button, which chooses nothing.
    if (button && button.name === "kind" && !button.value && button.closest("[data-mod-actions]")) {
      event.preventDefault();
      var first = button.form.querySelector("button[data-key]:not([disabled])");
      if (first) first.focus();
      return;
    }
    var submitted = event.target;
    if (submitted instanceof HTMLFormElement) {
      // One press, one action: a second key while the page loads must not act twice.
      if (submitted.dataset.sending) {
        event.preventDefault();
        return;
      }
      submitted.dataset.sending = "1";
    }
  }, true);

  /* ---- The queue: move between rows ---- */
  var current = -1;
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-mod-queue] [data-row]"));
  }
  function select(index) {
    var list = rows();
    if (!list.length) return;
    current = Math.max(0, Math.min(list.length - 1, index));
    list.forEach(function (row, i) { row.classList.toggle("is-selected", i === current); });
    var link = list[current].querySelector("[data-open]");
    if (link) link.focus();
    list[current].scrollIntoView({ block: "nearest" });
  }
  function queueKey(key) {
    var list = rows();
    if (!list.length) return false;
    if (key === "j") { select(current + 1); return true; }
    if (key === "k") { select(current - 1); return true; }
    var row = list[current];
    if (!row) return false;
    if (key === "x") {
      var box = row.querySelector("[data-select]");
      if (box) box.checked = !box.checked;
      return true;
    }
    if (key === "o") {
      var link = row.querySelector("[data-open]");
      if (link) link.click();
      return true;
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.shiftKey || event.isComposing) return;
    if (typing(event.target)) return;
    var key = event.key;
    if (!key || key.length !== 1) return;
    key = key.toLowerCase();
    if (queueKey(key)) {
      event.preventDefault();
      return;
    }
    var field = document.querySelector('[data-focus-key="' + key + '"]');
    if (usable(field)) {
      event.preventDefault();
      field.focus();
      return;
    }
    var target = document.querySelector('[data-key="' + key + '"]');
    if (!usable(target)) return;
    event.preventDefault();
    if (target.tagName === "BUTTON") press(target);
    else target.click();
  });

  // Coming back to a page from the history: its forms can be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sending]").forEach(function (form) { delete form.dataset.sending; });
  });

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.getAttribute("aria-invalid") === "true" && target.value) {
      target.removeAttribute("aria-invalid");
    }
  });
})();
