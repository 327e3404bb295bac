/*
 * Sertel — in-browser key pair + PKCS#10 CSR generation, with a private key that cannot be lost.
 *
 * The private key is generated with WebCrypto in the applicant's browser. It is never written into a form
 * field and never sent to the server: only the CSR (public key + subject, signed with the private key) goes
 * into the form, and only after the person confirms the key is saved.
 *
 * The key is offered as an ENCRYPTED PKCS#8 PEM ("ENCRYPTED PRIVATE KEY": PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC)
 * under a password the person chooses; the password is never stored or sent. The encrypted key and its CSR
 * are kept in the tab's sessionStorage under the case (data-key-scope), so a failed submit (the page comes
 * back with errors) or a reload still offers the same key for download.
 *
 * Requires (load in this order, as classic scripts):
 *   /static/vendor/reflect-metadata.js   (Reflect.getMetadata polyfill)
 *   /static/vendor/x509.js               (@peculiar/x509, global `x509`)
 *   /static/js/csr.js                    (this file)
 *
 * HTML contract (inputs without a name attribute are never submitted):
 *   <input type="password" id="key-password">  <input type="password" id="key-password-confirm">
 *   <button type="button" id="generate-csr" data-common-name="…" data-email="…" data-key-scope="case-12">
 *   <p id="csr-status"></p>
 *   <input type="checkbox" id="key-saved">     "I have saved the private key" (enabled after the download)
 *   <form …><textarea id="csr_pem" name="csr_pem"></textarea></form>
 * Created on demand after #csr-status: <a id="download-key"> and <p id="key-warning">.
 *
 * Plain ES2017, no build step.
 */
(function () {
  "use strict";

  var MSG = {
    generating: "Membuat pasangan kunci dan CSR di browser Anda…",
    done: "Pasangan kunci dibuat. Unduh kunci privat (terenkripsi dengan kata sandi Anda), simpan, lalu centang " +
      "konfirmasi di bawah; CSR baru dimasukkan ke formulir setelah itu.",
    restored: "Kunci privat yang Anda buat sebelumnya masih tersedia di peramban ini: unduh dan simpan sebelum mengirim.",
    confirmed: "Kunci privat telah Anda simpan; CSR sudah dimasukkan ke formulir.",
    noWebCrypto: "Browser Anda tidak mendukung WebCrypto (atau halaman tidak dibuka melalui HTTPS), " +
      "sehingga kunci tidak dapat dibuat di browser. Gunakan browser terbaru melalui HTTPS, " +
      "atau buat CSR sendiri (misalnya dengan OpenSSL) lalu tempelkan ke kolom CSR.",
    noLibrary: "Pustaka pembuat CSR gagal dimuat. Muat ulang halaman lalu coba lagi.",
    noName: "Nama pemohon (Common Name) tidak tersedia, CSR tidak dapat dibuat.",
    shortPassword: "Kata sandi kunci privat minimal 8 karakter.",
    passwordMismatch: "Ulangan kata sandi tidak sama dengan kata sandi kunci privat.",
    failed: "Gagal membuat CSR: ",
    downloadLabel: "Unduh kunci privat terenkripsi (",
    warning: "Simpan kunci privat ini dan ingat kata sandinya. Kunci ini tidak dikirim ke server dan tidak dapat " +
      "dipulihkan; tanpa kunci ini sertifikat Anda tidak dapat dipakai.",
    notSaved: "Unduh dan simpan kunci privat, lalu centang \"Saya sudah menyimpan kunci privat\" sebelum mengirim.",
    regenerateNote: "Kunci dan CSR lama telah diganti. Kunci privat yang cocok hanya kunci yang baru saja dibuat."
  };

  var MIN_PASSWORD = 8;
  var PBKDF2_ITERATIONS = 600000;
  var ALGORITHM = {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256"
  };
  var SIGNING_ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };

  var currentKeyUrl = null;
  var generatedOnce = false;

  function el(id) { return document.getElementById(id); }

  function setStatus(text, state) {
    var status = el("csr-status");
    if (!status) { return; }
    status.textContent = text;
    if (state) {
      status.setAttribute("data-state", state);
    } else {
      status.removeAttribute("data-state");
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

  function toPem(bytes, label) {
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    var b64 = window.btoa(binary);
    var lines = [];
    for (var j = 0; j < b64.length; j += 64) { lines.push(b64.slice(j, j + 64)); }
    return "-----BEGIN " + label + "-----\n" + lines.join("\n") + "\n-----END " + label + "-----\n";
  }

  /* ---- the DER writer (der.js), enough for EncryptedPrivateKeyInfo (RFC 5958 / RFC 8018) ---- */
  var DER = window.SertelDer;
  var tlv = DER.tlv, seq = DER.seq, octets = DER.octets, oid = DER.oid, integer = DER.integer;

  var OID = {
    pbes2: "2a864886f70d01050d",          // 1.2.840.113549.1.5.13
    pbkdf2: "2a864886f70d01050c",         // 1.2.840.113549.1.5.12
    hmacWithSHA256: "2a864886f70d0209",   // 1.2.840.113549.2.9
    aes256Cbc: "60864801650304012a"       // 2.16.840.1.101.3.4.1.42
  };

  /* PKCS#8 bytes -> "ENCRYPTED PRIVATE KEY" PEM under `password` (PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC). */
  async function encryptPkcs8(pkcs8, password) {
    var subtle = window.crypto.subtle;
    var salt = window.crypto.getRandomValues(new Uint8Array(16));
    var iv = window.crypto.getRandomValues(new Uint8Array(16));
    var base = await subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveKey"]);
    var aesKey = await subtle.deriveKey(
      { name: "PBKDF2", salt: salt, iterations: PBKDF2_ITERATIONS, hash: "SHA-256" },
      base, { name: "AES-CBC", length: 256 }, false, ["encrypt"]);
    var encrypted = new Uint8Array(await subtle.encrypt({ name: "AES-CBC", iv: iv }, aesKey, pkcs8));
    var algorithm = seq(
      oid(OID.pbes2),
      seq(
        seq(oid(OID.pbkdf2), seq(octets(salt), integer(PBKDF2_ITERATIONS), seq(oid(OID.hmacWithSHA256), tlv(0x05, new Uint8Array(0))))),
        seq(oid(OID.aes256Cbc), octets(iv))
      )
    );
    return toPem(seq(algorithm, octets(encrypted)), "ENCRYPTED PRIVATE KEY");
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

  /* ---- the key kept in this tab, per case ---- */
  function storageKey(button) {
    return "sertel-key:" + (button.getAttribute("data-key-scope") || window.location.pathname);
  }

  function loadKept(button) {
    try {
      var text = window.sessionStorage.getItem(storageKey(button));
      return text ? JSON.parse(text) : null;
    } catch (err) {
      return null;
    }
  }

  function keep(button, entry) {
    try {
      window.sessionStorage.setItem(storageKey(button), JSON.stringify(entry));
    } catch (err) {
      if (window.console) { window.console.warn("sessionStorage unavailable", err); }
    }
  }

  /* Link + warning live next to the status text; created on demand. */
  function ensureDownloadElements(button) {
    var link = el("download-key");
    var warning = el("key-warning");
    var anchor = el("csr-status") || button;
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
      link.className = "download-key button";
      warning.parentNode.insertBefore(link, warning);
    }
    return { link: link, warning: warning };
  }

  function offerPrivateKey(button, entry) {
    var els = ensureDownloadElements(button);
    if (currentKeyUrl) { URL.revokeObjectURL(currentKeyUrl); }
    currentKeyUrl = URL.createObjectURL(new Blob([entry.pem], { type: "application/x-pem-file" }));
    els.link.href = currentKeyUrl;
    els.link.setAttribute("download", entry.fileName);
    els.link.textContent = MSG.downloadLabel + entry.fileName + ")";
    els.link.hidden = false;
    els.warning.textContent = MSG.warning;
    els.warning.hidden = false;
    var saved = el("key-saved");
    if (saved) {
      saved.disabled = !entry.downloaded;
      saved.checked = !!entry.confirmed;
    }
  }

  /* Put the CSR in the form only once the person has confirmed the key is saved. */
  function syncCsrField(entry) {
    var field = el("csr_pem");
    if (!field || !entry) { return; }
    var wanted = entry.confirmed ? entry.csr : "";
    if (field.value.trim() === wanted.trim()) { return; }
    if (!entry.confirmed && field.value.trim() !== entry.csr.trim()) { return; }  // a CSR the person pasted stays
    field.value = wanted;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function checkPassword() {
    var password = el("key-password");
    var again = el("key-password-confirm");
    var value = password ? password.value : "";
    if (value.length < MIN_PASSWORD) { return { error: MSG.shortPassword }; }
    if (again && again.value !== value) { return { error: MSG.passwordMismatch }; }
    return { value: value };
  }

  async function generate(button) {
    if (!hasWebCrypto()) { setStatus(MSG.noWebCrypto, "error"); return; }
    if (!hasLibrary()) { setStatus(MSG.noLibrary, "error"); return; }

    var commonName = (button.getAttribute("data-common-name") || "").trim();
    var email = (button.getAttribute("data-email") || "").trim();
    if (!commonName) { setStatus(MSG.noName, "error"); return; }
    var password = checkPassword();
    if (password.error) { setStatus(password.error, "error"); return; }

    var x509 = window.x509;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    setStatus(MSG.generating, "busy");
    try {
      // extractable = true so that the applicant can save the private key.
      var keys = await window.crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
      var csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: buildSubject(commonName, email),
        keys: keys,
        signingAlgorithm: SIGNING_ALGORITHM,
        extensions: await buildExtensions(x509, keys, email)
      });
      var pkcs8 = new Uint8Array(await window.crypto.subtle.exportKey("pkcs8", keys.privateKey));
      var entry = {
        pem: await encryptPkcs8(pkcs8, password.value),
        csr: csr.toString("pem").replace(/\r\n/g, "\n").trim() + "\n",
        fileName: "kunci-privat-" + slug(commonName) + ".p8.pem",
        downloaded: false,
        confirmed: false
      };
      pkcs8.fill(0);
      var previous = loadKept(button);
      var field = el("csr_pem");
      if (previous && field && field.value.trim() === previous.csr.trim()) { field.value = ""; }
      keep(button, entry);
      offerPrivateKey(button, entry);
      ["key-password", "key-password-confirm"].forEach(function (id) { if (el(id)) { el(id).value = ""; } });
      setStatus(generatedOnce || previous ? MSG.done + " " + MSG.regenerateNote : MSG.done, "done");
      generatedOnce = true;
    } catch (err) {
      setStatus(MSG.failed + ((err && err.message) || String(err)), "error");
      if (window.console) { window.console.error(err); }
    } finally {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  function init() {
    var button = el("generate-csr");
    if (!button) { return; }
    button.addEventListener("click", function (event) {
      event.preventDefault(); // the button may be type="submit" inside the form
      generate(button);
    });
    if (!hasWebCrypto()) {
      setStatus(MSG.noWebCrypto, "error");
    }

    document.addEventListener("click", function (event) {
      if (!(event.target instanceof Element) || event.target.id !== "download-key") { return; }
      var entry = loadKept(button);
      if (!entry) { return; }
      entry.downloaded = true;
      keep(button, entry);
      if (el("key-saved")) { el("key-saved").disabled = false; }
    });

    var saved = el("key-saved");
    if (saved) {
      saved.addEventListener("change", function () {
        var entry = loadKept(button);
        if (!entry) { saved.checked = false; return; }
        entry.confirmed = saved.checked;
        keep(button, entry);
        syncCsrField(entry);
        setStatus(entry.confirmed ? MSG.confirmed : MSG.done, entry.confirmed ? "done" : "busy");
      });
    }

    var field = el("csr_pem");
    if (field && field.form) {
      // Registered on the form, so it runs before forms.js (on document) and can cancel the submit.
      field.form.addEventListener("submit", function (event) {
        var entry = loadKept(button);
        if (entry && !entry.confirmed && field.value.trim() === "") {
          event.preventDefault();
          setStatus(MSG.notSaved, "error");
          var status = el("csr-status");
          if (status && status.scrollIntoView) { status.scrollIntoView({ block: "center" }); }
        }
      });
    }

    var kept = loadKept(button);
    if (kept) {
      offerPrivateKey(button, kept);
      syncCsrField(kept);
      setStatus(kept.confirmed ? MSG.confirmed : MSG.restored, kept.confirmed ? "done" : "busy");
    }
  }

  /* After issuance (the delivery page): offer again the key kept in this tab for the case, so the certificate
   * and its key can be installed together. <p id="kept-key" data-key-scope="case-12" hidden></p> */
  function initKept() {
    var holder = el("kept-key");
    if (!holder) { return; }
    var entry = loadKept(holder);
    if (!entry) { return; }
    var link = document.createElement("a");
    link.id = "download-kept-key";
    link.href = URL.createObjectURL(new Blob([entry.pem], { type: "application/x-pem-file" }));
    link.setAttribute("download", entry.fileName);
    link.textContent = MSG.downloadLabel + entry.fileName + ")";
    holder.textContent = "Kunci privat yang Anda buat saat aktivasi masih tersedia di tab ini: ";
    holder.appendChild(link);
    holder.hidden = false;
  }

  function start() {
    init();
    initKept();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
