/*
 * Sertel — in-browser key pair + PKCS#10 CSR generation.
 *
 * The private key is generated with WebCrypto in the applicant's browser and is
 * offered to the applicant as a download only. It is never written into a form
 * field and never sent to the server: only the CSR (public key + subject, signed
 * with the private key) goes into the form.
 *
 * Requires (load in this order, as classic scripts):
 *   /static/vendor/reflect-metadata.js   (Reflect.getMetadata polyfill)
 *   /static/vendor/x509.js               (@peculiar/x509, global `x509`)
 *   /static/js/csr.js                    (this file)
 *
 * HTML contract:
 *   <button type="button" id="generate-csr"
 *           data-common-name="Nama Pemohon" data-email="pemohon@example.go.id">
 *   <textarea id="csr_pem" name="csr_pem"></textarea>
 *   <span id="csr-status"></span>
 * Optional (created after #csr-status when absent):
 *   <a id="download-key"></a>            private key download link (Blob URL)
 *   <p id="key-warning"></p>             warning text shown with the link
 *
 * Plain ES2017, no build step.
 */
(function () {
  "use strict";

  var MSG = {
    generating: "Membuat pasangan kunci dan CSR di browser Anda…",
    done: "CSR berhasil dibuat. Unduh dan simpan kunci privat Anda sebelum mengirim formulir.",
    noWebCrypto: "Browser Anda tidak mendukung WebCrypto (atau halaman tidak dibuka melalui HTTPS), " +
      "sehingga kunci tidak dapat dibuat di browser. Gunakan browser terbaru melalui HTTPS, " +
      "atau buat CSR sendiri (misalnya dengan OpenSSL) lalu tempelkan ke kolom CSR.",
    noLibrary: "Pustaka pembuat CSR gagal dimuat. Muat ulang halaman lalu coba lagi.",
    noName: "Nama pemohon (Common Name) tidak tersedia, CSR tidak dapat dibuat.",
    failed: "Gagal membuat CSR: ",
    downloadLabel: "Unduh kunci privat (",
    warning: "Simpan kunci privat ini di perangkat Anda. Kunci ini tidak dikirim ke server dan tidak dapat dipulihkan.",
    regenerateNote: "CSR lama telah diganti. Kunci privat yang cocok hanya kunci yang baru saja dibuat."
  };

  var ALGORITHM = {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256"
  };
  var SIGNING_ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };

  var currentKeyUrl = null;
  var generatedOnce = false;

  function setStatus(el, text, state) {
    if (!el) { return; }
    el.textContent = text;
    if (state) {
      el.setAttribute("data-state", state);
    } else {
      el.removeAttribute("data-state");
    }
  }

  function hasWebCrypto() {
    return typeof window !== "undefined" && window.crypto && window.crypto.subtle &&
      typeof window.crypto.subtle.generateKey === "function";
  }

  function hasLibrary() {
    return typeof window.x509 === "object" && window.x509 !== null &&
      typeof window.x509.Pkcs10CertificateRequestGenerator === "function";
  }

  /* File-name friendly slug: "Budi Santoso, S.T." -> "budi-santoso-s-t" */
  function slug(text) {
    var s = String(text || "").normalize ? String(text || "").normalize("NFKD") : String(text || "");
    s = s.replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
    return (s || "pemohon").slice(0, 60);
  }

  function toPem(buffer, label) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    var b64 = window.btoa(binary);
    var lines = [];
    for (var j = 0; j < b64.length; j += 64) { lines.push(b64.slice(j, j + 64)); }
    return "-----BEGIN " + label + "-----\n" + lines.join("\n") + "\n-----END " + label + "-----\n";
  }

  /* Subject as JSON with explicit string types, so names containing commas,
   * plus signs, quotes or a leading '#' (e.g. "Dr. Budi, S.T., M.Kom.") are
   * encoded literally instead of being parsed as RFC 4514 syntax. */
  function buildSubject(commonName, email) {
    var subject = [{ CN: [{ utf8String: commonName }] }];
    if (email) { subject.push({ E: [{ ia5String: email }] }); }
    return subject;
  }

  async function buildExtensions(x509, keys, email) {
    var flags = x509.KeyUsageFlags;
    var extensions = [
      new x509.KeyUsagesExtension(flags.digitalSignature | flags.nonRepudiation, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
    ];
    if (email) {
      extensions.push(new x509.SubjectAlternativeNameExtension([{ type: "email", value: email }]));
    }
    return extensions;
  }

  /* Link + warning live next to the status text; created on demand. */
  function ensureDownloadElements(statusEl, button) {
    var link = document.getElementById("download-key");
    var warning = document.getElementById("key-warning");
    var anchor = statusEl || button;
    if (!warning) {
      warning = document.createElement("p");
      warning.id = "key-warning";
      warning.className = "key-warning";
      warning.setAttribute("role", "alert");
      anchor.parentNode.insertBefore(warning, anchor.nextSibling);
    }
    if (!link) {
      link = document.createElement("a");
      link.id = "download-key";
      link.className = "download-key";
      warning.parentNode.insertBefore(link, warning);
    }
    return { link: link, warning: warning };
  }

  function offerPrivateKey(pkcs8Pem, fileName, statusEl, button) {
    var els = ensureDownloadElements(statusEl, button);
    if (currentKeyUrl) { URL.revokeObjectURL(currentKeyUrl); }
    var blob = new Blob([pkcs8Pem], { type: "application/x-pem-file" });
    currentKeyUrl = URL.createObjectURL(blob);
    els.link.href = currentKeyUrl;
    els.link.setAttribute("download", fileName);
    els.link.textContent = MSG.downloadLabel + fileName + ")";
    els.link.hidden = false;
    els.warning.textContent = MSG.warning;
    els.warning.hidden = false;
  }

  async function generate(button) {
    var statusEl = document.getElementById("csr-status");
    var csrField = document.getElementById("csr_pem");

    if (!hasWebCrypto()) { setStatus(statusEl, MSG.noWebCrypto, "error"); return; }
    if (!hasLibrary()) { setStatus(statusEl, MSG.noLibrary, "error"); return; }

    var commonName = (button.getAttribute("data-common-name") || "").trim();
    var email = (button.getAttribute("data-email") || "").trim();
    if (!commonName) { setStatus(statusEl, MSG.noName, "error"); return; }

    var x509 = window.x509;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    setStatus(statusEl, MSG.generating, "busy");
    try {
      // extractable = true so that the applicant can save the private key.
      var keys = await window.crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
      var csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: buildSubject(commonName, email),
        keys: keys,
        signingAlgorithm: SIGNING_ALGORITHM,
        extensions: await buildExtensions(x509, keys, email)
      });
      var pkcs8 = await window.crypto.subtle.exportKey("pkcs8", keys.privateKey);

      offerPrivateKey(toPem(pkcs8, "PRIVATE KEY"), "kunci-privat-" + slug(commonName) + ".pem",
        statusEl, button);
      if (csrField) {
        csrField.value = csr.toString("pem").replace(/\r\n/g, "\n").trim() + "\n";
        csrField.dispatchEvent(new Event("input", { bubbles: true }));
        csrField.dispatchEvent(new Event("change", { bubbles: true }));
      }
      setStatus(statusEl, generatedOnce ? MSG.done + " " + MSG.regenerateNote : MSG.done, "done");
      generatedOnce = true;
    } catch (err) {
      setStatus(statusEl, MSG.failed + ((err && err.message) || String(err)), "error");
      if (window.console) { window.console.error(err); }
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  function init() {
    var button = document.getElementById("generate-csr");
    if (!button) { return; }
    button.addEventListener("click", function (event) {
      event.preventDefault(); // the button may be type="submit" inside the form
      generate(button);
    });
    if (!hasWebCrypto()) {
      setStatus(document.getElementById("csr-status"), MSG.noWebCrypto, "error");
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
