// Helpers of the process owner's pages (modeler-*.js): the JSON API with the session's CSRF token.
(function () {
  'use strict';

  function csrfToken() {
    const holder = document.querySelector('[data-csrf]');
    return holder ? holder.dataset.csrf : '';
  }

  // Answer { status, body } (body is the parsed JSON, or the text for XML, or null).
  async function api(method, path, body) {
    const headers = { Accept: 'application/json', 'X-CSRF-Token': csrfToken() };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    let response;
    try {
      response = await fetch('/api/v1' + path, {
        method,
        headers,
        credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body)
      });
    } catch (err) {
      return { status: 0, body: { error: 'Server tidak dapat dihubungi.' } };
    }
    const type = response.headers.get('Content-Type') || '';
    let parsed = null;
    if (type.includes('json')) {
      parsed = await response.json().catch(() => null);
    } else {
      parsed = await response.text();
    }
    return { status: response.status, body: parsed };
  }

  function errorOf(result) {
    const body = result.body;
    if (body && typeof body === 'object') {
      return body.message || body.error || `kode ${result.status}`;
    }
    return `kode ${result.status}`;
  }

  function escapeHtml(text) {
    return String(text == null ? '' : text).replace(/[&<>"']/g, (c) => (
      { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }

  function when(iso) {
    if (!iso) {
      return '-';
    }
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) {
      return iso;
    }
    return date.toLocaleString('id-ID', { timeZone: 'Asia/Jakarta', dateStyle: 'medium', timeStyle: 'short' }) + ' WIB';
  }

  window.SertelPages = { api, errorOf, escapeHtml, when };
})();
