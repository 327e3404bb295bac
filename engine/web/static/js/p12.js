/*
 * Sertel — build a PKCS#12 (.p12) in the browser from the person's saved key file and their issued certificate.
 *
 * On "Sertifikat Saya" the owner picks one of their certificates, loads the private key file they saved at
 * activation (the "ENCRYPTED PRIVATE KEY" PEM csr.js made: PBES2, PBKDF2-HMAC-SHA256/SHA1, AES-CBC; an
 * unencrypted "PRIVATE KEY" PEM is accepted too), types that file's password and a new password for the .p12.
 * The key is decrypted, checked against the certificate's public key, re-encrypted under the new password
 * and packed with the certificate and its chain (fetched from /sertifikat/<serial>.pem, public data) into a
 * PKCS#12 file offered for download. Everything happens here: the key file, the key and both passwords never
 * leave the browser (no input below has a name, nothing is posted).
 *
 * The PKCS#12 (RFC 7292): certificates in an unencrypted SafeContents, the key in a pkcs8ShroudedKeyBag
 * (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC), integrity by an HMAC-SHA256 MAC whose key comes from the
 * PKCS#12 KDF (RFC 7292 appendix B). OpenSSL 1.1.1+/3, Python `cryptography`, Windows 10+, macOS and
 * Firefox/Chrome import it.
 *
 * HTML contract (certificates.html):
 *   <select id="p12-certificate"> options: value = URL of the certificate + chain PEM, data-serial, data-name
 *   <input type="file" id="p12-key-file">  <input type="password" id="p12-key-password">
 *   <input type="password" id="p12-password">  <input type="password" id="p12-password-confirm">
 *   <button type="button" id="make-p12">  <p id="p12-status"></p>
 * Created on demand after #p12-status: <a id="download-p12">.
 *
 * Plain ES2017 with WebCrypto only, no library and no build step.
 */
(function () {
  "use strict";

  var MSG = {
    working: "Membuat berkas PKCS#12 di browser Anda…",
    done: "Berkas PKCS#12 siap. Unduh dan simpan; untuk memasangnya Anda memerlukan kata sandi PKCS#12 yang baru Anda buat.",
    noWebCrypto: "Browser Anda tidak mendukung WebCrypto (atau halaman tidak dibuka melalui HTTPS), sehingga " +
      "berkas PKCS#12 tidak dapat dibuat di browser.",
    noCertificate: "Pilih sertifikat terlebih dahulu.",
    noKeyFile: "Pilih berkas kunci privat yang Anda simpan saat aktivasi (.p8.pem).",
    notPem: "Berkas yang dipilih bukan kunci privat PKCS#8 (\"ENCRYPTED PRIVATE KEY\" atau \"PRIVATE KEY\").",
    unsupported: "Enkripsi berkas kunci privat ini tidak didukung (hanya PBES2 dengan PBKDF2 dan AES-CBC).",
    wrongPassword: "Kata sandi berkas kunci privat salah, atau berkas kunci rusak.",
    noKeyPassword: "Isi kata sandi berkas kunci privat.",
    shortPassword: "Kata sandi PKCS#12 minimal 8 karakter.",
    passwordMismatch: "Ulangan kata sandi PKCS#12 tidak sama.",
    certFailed: "Sertifikat tidak dapat diambil dari server. Muat ulang halaman lalu coba lagi.",
    mismatch: "Kunci privat ini bukan pasangan sertifikat yang dipilih. Pilih berkas kunci yang dibuat untuk " +
      "permohonan sertifikat ini.",
    unsupportedKey: "Jenis kunci privat ini tidak didukung (hanya RSA dan EC P-256/P-384/P-521).",
    failed: "Gagal membuat berkas PKCS#12: ",
    downloadLabel: "Unduh PKCS#12 ("
  };

  var MIN_PASSWORD = 8;
  var PBKDF2_ITERATIONS = 600000;   // the key bag, as csr.js
  var MAC_ITERATIONS = 10000;       // the PKCS#12 KDF for the MAC key (OpenSSL's default is 2048)

  var OID = {
    pbes2: "2a864886f70d01050d",              // 1.2.840.113549.1.5.13
    pbkdf2: "2a864886f70d01050c",             // 1.2.840.113549.1.5.12
    hmacWithSHA1: "2a864886f70d0207",         // 1.2.840.113549.2.7 (PBKDF2's default PRF)
    hmacWithSHA256: "2a864886f70d0209",       // 1.2.840.113549.2.9
    aes128Cbc: "608648016503040102",          // 2.16.840.1.101.3.4.1.2
    aes192Cbc: "608648016503040116",          // 2.16.840.1.101.3.4.1.22
    aes256Cbc: "60864801650304012a",          // 2.16.840.1.101.3.4.1.42
    sha256: "608648016503040201",             // 2.16.840.1.101.3.4.2.1
    data: "2a864886f70d010701",               // 1.2.840.113549.1.7.1
    shroudedKeyBag: "2a864886f70d010c0a0102", // 1.2.840.113549.1.12.10.1.2
    certBag: "2a864886f70d010c0a0103",        // 1.2.840.113549.1.12.10.1.3
    x509Certificate: "2a864886f70d01091601",  // 1.2.840.113549.1.9.22.1
    friendlyName: "2a864886f70d010914",       // 1.2.840.113549.1.9.20
    localKeyId: "2a864886f70d010915",         // 1.2.840.113549.1.9.21
    rsaEncryption: "2a864886f70d010101",      // 1.2.840.113549.1.1.1
    ecPublicKey: "2a8648ce3d0201",            // 1.2.840.10045.2.1
    p256: "2a8648ce3d030107",
    p384: "2b81040022",
    p521: "2b81040023"
  };
  var AES_BITS = {};
  AES_BITS[OID.aes128Cbc] = 128;
  AES_BITS[OID.aes192Cbc] = 192;
  AES_BITS[OID.aes256Cbc] = 256;
  var PRF_HASH = {};
  PRF_HASH[OID.hmacWithSHA1] = "SHA-1";
  PRF_HASH[OID.hmacWithSHA256] = "SHA-256";
  var CURVES = {};
  CURVES[OID.p256] = "P-256";
  CURVES[OID.p384] = "P-384";
  CURVES[OID.p521] = "P-521";

  var currentUrl = null;

  function el(id) { return document.getElementById(id); }

  function UserError(message) { this.message = message; }

  function setStatus(text, state) {
    var status = el("p12-status");
    if (!status) { return; }
    status.textContent = text;
    if (state) { status.setAttribute("data-state", state); } else { status.removeAttribute("data-state"); }
  }

  /* ---- bytes, PEM; the DER writer is der.js ---- */
  var DER = window.SertelDer;
  var concat = DER.concat, tlv = DER.tlv, seq = DER.seq, set = DER.set, explicit0 = DER.explicit0;
  var octets = DER.octets, nullValue = DER.nullValue, oid = DER.oid, integer = DER.integer, bmpString = DER.bmpString;

  function hex(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) { s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16); }
    return s;
  }

  function equalBytes(a, b) {
    if (a.length !== b.length) { return false; }
    var diff = 0;
    for (var i = 0; i < a.length; i++) { diff |= a[i] ^ b[i]; }
    return diff === 0;
  }

  /* All PEM blocks of a text: [{label, der}] */
  function pemBlocks(text) {
    var re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
    var blocks = [];
    var m;
    while ((m = re.exec(text)) !== null) {
      var binary = window.atob(m[2].replace(/[^A-Za-z0-9+/=]/g, ""));
      var der = new Uint8Array(binary.length);
      for (var i = 0; i < binary.length; i++) { der[i] = binary.charCodeAt(i); }
      blocks.push({ label: m[1], der: der });
    }
    return blocks;
  }

  /* ---- a minimal DER reader ---- */
  function readTlv(bytes, offset) {
    if (offset + 2 > bytes.length) { throw new Error("DER terpotong"); }
    var tag = bytes[offset];
    var len = bytes[offset + 1];
    var start = offset + 2;
    if (len & 0x80) {
      var count = len & 0x7f;
      if (count === 0 || count > 4) { throw new Error("panjang DER tidak didukung"); }
      len = 0;
      for (var i = 0; i < count; i++) { len = len * 256 + bytes[start + i]; }
      start += count;
    }
    if (start + len > bytes.length) { throw new Error("DER terpotong"); }
    return { tag: tag, start: start, end: start + len, offset: offset, bytes: bytes };
  }

  function content(node) { return node.bytes.subarray(node.start, node.end); }
  function whole(node) { return node.bytes.subarray(node.offset, node.end); }

  function children(node) {
    var out = [];
    var offset = node.start;
    while (offset < node.end) {
      var child = readTlv(node.bytes, offset);
      out.push(child);
      offset = child.end;
    }
    return out;
  }

  function parse(bytes) { return readTlv(bytes, 0); }

  function readInteger(node) {
    var value = 0;
    var b = content(node);
    for (var i = 0; i < b.length; i++) { value = value * 256 + b[i]; }
    return value;
  }

  /* ---- the saved key file ---- */

  /* EncryptedPrivateKeyInfo (PBES2) DER + password -> PKCS#8 PrivateKeyInfo bytes. */
  async function decryptPkcs8(der, password) {
    var subtle = window.crypto.subtle;
    var salt, iterations, hash, aesBits, iv, encrypted;
    try {
      var top = children(parse(der));
      var alg = children(top[0]);
      if (hex(content(alg[0])) !== OID.pbes2) { throw new UserError(MSG.unsupported); }
      var params = children(alg[1]);
      var kdf = children(params[0]);
      var enc = children(params[1]);
      if (hex(content(kdf[0])) !== OID.pbkdf2) { throw new UserError(MSG.unsupported); }
      var kdfParams = children(kdf[1]);
      salt = content(kdfParams[0]);
      iterations = readInteger(kdfParams[1]);
      hash = "SHA-1";
      kdfParams.slice(2).forEach(function (p) {
        if (p.tag === 0x30) { hash = PRF_HASH[hex(content(children(p)[0]))]; }
      });
      aesBits = AES_BITS[hex(content(enc[0]))];
      iv = content(enc[1]);
      encrypted = content(top[1]);
    } catch (err) {
      if (err instanceof UserError) { throw err; }
      throw new UserError(MSG.notPem);
    }
    if (!hash || !aesBits) { throw new UserError(MSG.unsupported); }
    var base = await subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveKey"]);
    var aesKey = await subtle.deriveKey({ name: "PBKDF2", salt: salt, iterations: iterations, hash: hash },
      base, { name: "AES-CBC", length: aesBits }, false, ["decrypt"]);
    try {
      return new Uint8Array(await subtle.decrypt({ name: "AES-CBC", iv: iv }, aesKey, encrypted));
    } catch (err) {
      throw new UserError(MSG.wrongPassword);  // bad padding: almost always the wrong password
    }
  }

  /* PKCS#8 PrivateKeyInfo -> "ENCRYPTED PRIVATE KEY" DER under password (PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC). */
  async function encryptPkcs8(pkcs8, password) {
    var subtle = window.crypto.subtle;
    var salt = window.crypto.getRandomValues(new Uint8Array(16));
    var iv = window.crypto.getRandomValues(new Uint8Array(16));
    var base = await subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveKey"]);
    var aesKey = await subtle.deriveKey({ name: "PBKDF2", salt: salt, iterations: PBKDF2_ITERATIONS, hash: "SHA-256" },
      base, { name: "AES-CBC", length: 256 }, false, ["encrypt"]);
    var encrypted = new Uint8Array(await subtle.encrypt({ name: "AES-CBC", iv: iv }, aesKey, pkcs8));
    return seq(
      seq(oid(OID.pbes2), seq(
        seq(oid(OID.pbkdf2), seq(octets(salt), integer(PBKDF2_ITERATIONS), seq(oid(OID.hmacWithSHA256), nullValue()))),
        seq(oid(OID.aes256Cbc), octets(iv)))),
      octets(encrypted));
  }

  /* The import parameters of a PKCS#8 key or SPKI: RSA or EC, from its AlgorithmIdentifier node. */
  function keyAlgorithm(algNode) {
    var parts = children(algNode);
    var id = hex(content(parts[0]));
    if (id === OID.rsaEncryption) { return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }; }
    if (id === OID.ecPublicKey && parts[1] && parts[1].tag === 0x06) {
      var curve = CURVES[hex(content(parts[1]))];
      if (curve) { return { name: "ECDSA", namedCurve: curve }; }
    }
    throw new UserError(MSG.unsupportedKey);
  }

  /* The public half of a private key and of a certificate, compared as JWK (n, e) or (crv, x, y). */
  async function checkPair(pkcs8, certDer) {
    var subtle = window.crypto.subtle;
    var keyAlg;
    try {
      keyAlg = keyAlgorithm(children(parse(pkcs8))[1]);
    } catch (err) {
      if (err instanceof UserError) { throw err; }
      throw new UserError(MSG.wrongPassword);
    }
    var tbs = children(children(parse(certDer))[0]);
    var i = tbs[0].tag === 0xa0 ? 1 : 0;  // [0] version
    var spki = tbs[i + 5];                // serial, signature, issuer, validity, subject, subjectPublicKeyInfo
    var certAlg = keyAlgorithm(children(spki)[0]);
    if (certAlg.name !== keyAlg.name || certAlg.namedCurve !== keyAlg.namedCurve) { throw new UserError(MSG.mismatch); }
    var privateJwk;
    try {
      privateJwk = await subtle.exportKey("jwk", await subtle.importKey("pkcs8", pkcs8, keyAlg, true, ["sign"]));
    } catch (err) {
      throw new UserError(MSG.wrongPassword);
    }
    var publicJwk = await subtle.exportKey("jwk", await subtle.importKey("spki", whole(spki), certAlg, true, ["verify"]));
    var fields = keyAlg.name === "ECDSA" ? ["crv", "x", "y"] : ["n", "e"];
    fields.forEach(function (f) {
      if (privateJwk[f] !== publicJwk[f]) { throw new UserError(MSG.mismatch); }
    });
  }

  /* ---- PKCS#12 ---- */

  /* RFC 7292 appendix B.2 with SHA-256 (u = 32, v = 64), for n <= 32 bytes (one block: the MAC key). */
  async function pkcs12Kdf(passwordBmp, salt, id, iterations, n) {
    var v = 64;
    function stretch(bytes) {
      if (bytes.length === 0) { return bytes; }
      var out = new Uint8Array(v * Math.ceil(bytes.length / v));
      for (var i = 0; i < out.length; i++) { out[i] = bytes[i % bytes.length]; }
      return out;
    }
    var d = new Uint8Array(v).fill(id);
    var a = concat([d, stretch(salt), stretch(passwordBmp)]);
    for (var r = 0; r < iterations; r++) {
      a = new Uint8Array(await window.crypto.subtle.digest("SHA-256", a));
    }
    return a.slice(0, n);
  }

  /* The password as a BMPString with its two zero bytes, as the PKCS#12 KDF wants it. */
  function bmpPassword(password) {
    var out = new Uint8Array(password.length * 2 + 2);
    for (var i = 0; i < password.length; i++) {
      out[2 * i] = password.charCodeAt(i) >> 8;
      out[2 * i + 1] = password.charCodeAt(i) & 0xff;
    }
    return out;
  }

  function dataContentInfo(body) { return seq(oid(OID.data), explicit0(octets(body))); }
  function attribute(type, value) { return seq(oid(type), set(value)); }

  function certBag(certDer, attributes) {
    var bag = [oid(OID.certBag), explicit0(seq(oid(OID.x509Certificate), explicit0(octets(certDer))))];
    if (attributes) { bag.push(attributes); }
    return seq.apply(null, bag);
  }

  async function buildPfx(pkcs8, certs, password, friendlyName) {
    var subtle = window.crypto.subtle;
    var keyId = new Uint8Array(await subtle.digest("SHA-1", certs[0]));
    var attributes = set(attribute(OID.friendlyName, bmpString(friendlyName)), attribute(OID.localKeyId, octets(keyId)));
    var certSafe = seq.apply(null, certs.map(function (der, i) { return certBag(der, i === 0 ? attributes : null); }));
    var keySafe = seq(seq(oid(OID.shroudedKeyBag), explicit0(await encryptPkcs8(pkcs8, password)), attributes));
    var authSafe = seq(dataContentInfo(certSafe), dataContentInfo(keySafe));

    var macSalt = window.crypto.getRandomValues(new Uint8Array(16));
    var macKey = await pkcs12Kdf(bmpPassword(password), macSalt, 3, MAC_ITERATIONS, 32);
    var hmacKey = await subtle.importKey("raw", macKey, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    var mac = new Uint8Array(await subtle.sign("HMAC", hmacKey, authSafe));
    var macData = seq(seq(seq(oid(OID.sha256), nullValue()), octets(mac)), octets(macSalt), integer(MAC_ITERATIONS));
    return seq(integer(3), dataContentInfo(authSafe), macData);
  }

  /* ---- the page ---- */
  function readFile(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(String(reader.result)); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsText(file);
    });
  }

  async function privateKeyFrom(text, password) {
    var blocks = pemBlocks(text);
    var encrypted = blocks.filter(function (b) { return b.label === "ENCRYPTED PRIVATE KEY"; })[0];
    if (encrypted) {
      if (!password) { throw new UserError(MSG.noKeyPassword); }
      return decryptPkcs8(encrypted.der, password);
    }
    var plain = blocks.filter(function (b) { return b.label === "PRIVATE KEY"; })[0];
    if (plain) { return plain.der; }
    throw new UserError(MSG.notPem);
  }

  async function certificatesFrom(url) {
    var response;
    try {
      response = await window.fetch(url, { credentials: "same-origin" });
    } catch (err) {
      throw new UserError(MSG.certFailed);
    }
    if (!response.ok) { throw new UserError(MSG.certFailed); }
    var certs = pemBlocks(await response.text()).filter(function (b) { return b.label === "CERTIFICATE"; });
    if (!certs.length) { throw new UserError(MSG.certFailed); }
    return certs.map(function (b) { return b.der; });
  }

  function offer(bytes, fileName) {
    var anchor = el("p12-status");
    var link = el("download-p12");
    if (!link) {
      link = document.createElement("a");
      link.id = "download-p12";
      link.className = "button";
      anchor.parentNode.insertBefore(link, anchor.nextSibling);
    }
    if (currentUrl) { URL.revokeObjectURL(currentUrl); }
    currentUrl = URL.createObjectURL(new Blob([bytes], { type: "application/x-pkcs12" }));
    link.href = currentUrl;
    link.setAttribute("download", fileName);
    link.textContent = MSG.downloadLabel + fileName + ")";
    link.hidden = false;
  }

  async function make(button) {
    if (!(window.crypto && window.crypto.subtle)) { setStatus(MSG.noWebCrypto, "error"); return; }
    var select = el("p12-certificate");
    var option = select && select.options[select.selectedIndex];
    var fileInput = el("p12-key-file");
    var password = el("p12-password").value;
    var link = el("download-p12");
    if (link) { link.hidden = true; }
    if (!option || !option.value) { setStatus(MSG.noCertificate, "error"); return; }
    if (!fileInput.files || !fileInput.files.length) { setStatus(MSG.noKeyFile, "error"); return; }
    if (password.length < MIN_PASSWORD) { setStatus(MSG.shortPassword, "error"); return; }
    if (el("p12-password-confirm").value !== password) { setStatus(MSG.passwordMismatch, "error"); return; }

    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    setStatus(MSG.working, "busy");
    var pkcs8 = null;
    try {
      pkcs8 = await privateKeyFrom(await readFile(fileInput.files[0]), el("p12-key-password").value);
      var certs = await certificatesFrom(option.value);
      await checkPair(pkcs8, certs[0]);
      var name = option.getAttribute("data-name") || "Sertifikat Elektronik";
      var pfx = await buildPfx(pkcs8, certs, password, name);
      offer(pfx, "sertifikat-" + (option.getAttribute("data-serial") || "sertel") + ".p12");
      ["p12-key-password", "p12-password", "p12-password-confirm"].forEach(function (id) { el(id).value = ""; });
      setStatus(MSG.done, "done");
    } catch (err) {
      setStatus(err instanceof UserError ? err.message : MSG.failed + ((err && err.message) || String(err)), "error");
      if (!(err instanceof UserError) && window.console) { window.console.error(err); }
    } finally {
      if (pkcs8) { pkcs8.fill(0); }
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }

  function init() {
    var button = el("make-p12");
    if (!button) { return; }
    button.addEventListener("click", function (event) {
      event.preventDefault();
      make(button);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
