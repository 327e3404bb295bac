/* A minimal DER writer shared by csr.js (EncryptedPrivateKeyInfo) and p12.js (PKCS#12): ASN.1 TLVs with
   definite lengths, enough for the structures those two build. Exposed as window.SertelDer. */
(function () {
  "use strict";

  function concat(parts) {
    var total = 0;
    parts.forEach(function (p) { total += p.length; });
    var out = new Uint8Array(total);
    var offset = 0;
    parts.forEach(function (p) { out.set(p, offset); offset += p.length; });
    return out;
  }

  function tlv(tag, body) {
    var n = body.length;
    var len;
    if (n < 128) {
      len = [n];
    } else {
      var lb = [];
      while (n > 0) { lb.unshift(n & 0xff); n = Math.floor(n / 256); }
      len = [0x80 | lb.length].concat(lb);
    }
    return concat([new Uint8Array([tag].concat(len)), body]);
  }

  function integer(value) {
    var bytes = [];
    do { bytes.unshift(value & 0xff); value = Math.floor(value / 256); } while (value > 0);
    if (bytes[0] & 0x80) { bytes.unshift(0); }
    return tlv(0x02, new Uint8Array(bytes));
  }

  function bmpString(text) {
    var bytes = new Uint8Array(text.length * 2);
    for (var i = 0; i < text.length; i++) {
      bytes[2 * i] = text.charCodeAt(i) >> 8;
      bytes[2 * i + 1] = text.charCodeAt(i) & 0xff;
    }
    return tlv(0x1e, bytes);
  }

  window.SertelDer = {
    concat: concat,
    tlv: tlv,
    seq: function () { return tlv(0x30, concat(Array.prototype.slice.call(arguments))); },
    set: function () { return tlv(0x31, concat(Array.prototype.slice.call(arguments))); },
    explicit0: function (body) { return tlv(0xa0, body); },
    octets: function (bytes) { return tlv(0x04, bytes); },
    nullValue: function () { return tlv(0x05, new Uint8Array(0)); },
    oid: function (hex) { return tlv(0x06, new Uint8Array(hex.match(/../g).map(function (h) { return parseInt(h, 16); }))); },
    integer: integer,
    bmpString: bmpString
  };
})();
