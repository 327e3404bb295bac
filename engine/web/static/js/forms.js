// Send each form once: while a form is being submitted its submit buttons are disabled and a second
// submit (a double click, Enter pressed twice) is ignored, so the server receives one request.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    // Scripts that handle a form themselves (e.g. the in-browser CSR) cancel the native submit.
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) {
      return;
    }
    if (form.dataset.submitting === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.submitting = "1";
    form.setAttribute("aria-busy", "true");
    // Disable after this event: a button disabled now would drop its name=value from the submitted data.
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]").forEach(function (button) {
        if (!button.disabled) {
          button.disabled = true;
          button.dataset.disabledWhileSubmitting = "1";
        }
      });
    }, 0);
  });

  // A page restored with the Back button must be usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    document.querySelectorAll("form[data-submitting]").forEach(function (form) {
      delete form.dataset.submitting;
      form.removeAttribute("aria-busy");
      form.querySelectorAll("[data-disabled-while-submitting]").forEach(function (button) {
        button.disabled = false;
        delete button.dataset.disabledWhileSubmitting;
      });
    });
  });
})();
