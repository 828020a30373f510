// wharf UI: progressive enhancement only; every page works without it.
// A select marked data-autosubmit submits its (GET) form when changed, so the attach dialog's
// registry → repository → tag steps and the build filters follow the choice at once.
"use strict";
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    if (target.form.method.toLowerCase() === "get") {
      target.form.requestSubmit ? target.form.requestSubmit() : target.form.submit();
    }
  }
});
// A form marked data-confirm (a roll back, a write into a protected stage) asks first, naming
// the image; a form is sent once: its buttons are disabled while the next page loads.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm") &&
      !window.confirm(form.getAttribute("data-confirm"))) {
    event.preventDefault();
    return;
  }
  if (form instanceof HTMLFormElement && form.method.toLowerCase() === "post") {
    setTimeout(function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    }, 0);
  }
});
