// Send each form once: while a form is being submitted its submit buttons are disabled and a second
// submit (a double click, Enter pressed twice) is ignored, so the server receives one request. The button
// that sent the form says "Sedang diproses…" (a spinner drawn by CSS, class "busy") until the answer comes.
// Files over the upload limit are refused here, before sending, so what was typed stays on the page
// (the server checks the same limit again). After a failed submit the error summary is focused, and its links
// move the focus to their fields.
(function () {
  "use strict";

  function sizeMessage(input) {
    return "Berkas terlalu besar: maksimal " + (input.dataset.limitText || "") + " per berkas. Pilih berkas yang lebih kecil.";
  }

  // The note is tied to its field (aria-describedby) like the server's messages, and announced (role=alert).
  function describedBy(input, id, add) {
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (x) { return x && x !== id; });
    if (add) { ids.push(id); }
    if (ids.length) { input.setAttribute("aria-describedby", ids.join(" ")); } else { input.removeAttribute("aria-describedby"); }
  }

  function showFileError(input, message) {
    var note = input.parentNode.querySelector(".field-error[data-file-check]");
    var id = (input.id || input.name) + "-size-error";
    if (!message) {
      if (note) { note.remove(); }
      describedBy(input, id, false);
      if (!document.getElementById(input.id + "-error-1")) {  // no message of the server's left on the field
        input.removeAttribute("aria-invalid");
      }
      return;
    }
    if (!note) {
      note = document.createElement("p");
      note.className = "field-error";
      note.id = id;
      note.setAttribute("role", "alert");
      note.dataset.fileCheck = "1";
      input.insertAdjacentElement("afterend", note);
    }
    note.textContent = message;
    describedBy(input, id, true);
    input.setAttribute("aria-invalid", "true");
  }

  function oversized(input) {
    var limit = parseInt(input.dataset.maxBytes || "0", 10);
    return limit > 0 && Array.prototype.some.call(input.files || [], function (file) { return file.size > limit; });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file" || !input.dataset.maxBytes) {
      return;
    }
    if (oversized(input)) {
      showFileError(input, sizeMessage(input));
      input.value = "";
    } else {
      showFileError(input, null);
    }
  });

  // Capture phase: runs before the submit guard below and before any other script on the form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    var total = 0;
    var refused = false;
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) { total += file.size; });
      if (oversized(input)) {
        showFileError(input, sizeMessage(input));
        refused = true;
      }
    });
    var requestLimit = parseInt(form.dataset.maxRequestBytes || "0", 10);
    if (!refused && requestLimit > 0 && total > requestLimit * 0.95) {
      var first = form.querySelector("input[type=file]");
      if (first) {
        showFileError(first, "Jumlah ukuran berkas terlalu besar untuk sekali kirim; unggah berkas yang lebih kecil.");
      }
      refused = true;
    }
    if (refused) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

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
    var sender = event.submitter || form.querySelector("button[type=submit], button:not([type]), input[type=submit]");
    // Disable after this event: a button disabled now would drop its name=value from the submitted data.
    window.setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]").forEach(function (button) {
        if (!button.disabled) {
          button.disabled = true;
          button.dataset.disabledWhileSubmitting = "1";
        }
      });
      showBusy(sender);
    }, 0);
  });

  // Only the text a person reads changes: a <button>'s value (what the form sends) is its value attribute.
  function showBusy(button) {
    if (!(button instanceof HTMLButtonElement) || button.dataset.idleLabel !== undefined) {
      return;
    }
    button.dataset.idleLabel = button.innerHTML;
    button.classList.add("busy");
    button.textContent = "Sedang diproses…";
  }

  function clearBusy(button) {
    if (button.dataset.idleLabel === undefined) {
      return;
    }
    button.innerHTML = button.dataset.idleLabel;
    delete button.dataset.idleLabel;
    button.classList.remove("busy");
  }

  // After a failed submit the error summary takes the focus (a screen reader reads it; Tab goes on to its links).
  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary && (document.activeElement === document.body || document.activeElement === null)) {
      summary.focus();
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusErrorSummary);
  } else {
    focusErrorSummary();
  }

  // A link of the summary moves the focus to its control, scrolled so that its label shows too.
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("[data-error-summary] a[href^='#']") : null;
    if (!link) {
      return;
    }
    var control = document.getElementById(link.getAttribute("href").slice(1));
    if (!control) {
      return;
    }
    event.preventDefault();
    var label = control.closest("label, fieldset");
    (label || control).scrollIntoView({block: "start"});
    control.focus({preventScroll: true});
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
        clearBusy(button);
      });
    });
  });
})();
