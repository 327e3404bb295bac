// /admin/proses: the processes with their current version and open draft.
(function () {
  'use strict';
  const { api, errorOf, escapeHtml, when } = window.SertelPages;
  const body = document.querySelector('#modeler-processes tbody');

  api('GET', '/processes').then((result) => {
    if (result.status !== 200 || !Array.isArray(result.body)) {
      body.innerHTML = `<tr><td colspan="4">Daftar proses tidak dapat dimuat: ${escapeHtml(errorOf(result))}</td></tr>`;
      return;
    }
    if (!result.body.length) {
      body.innerHTML = '<tr><td colspan="4">Belum ada proses.</td></tr>';
      return;
    }
    body.innerHTML = result.body.map((p) => {
      const key = encodeURIComponent(p.key);
      const draft = p.draft ? `disimpan ${escapeHtml(p.draft.saved_by)}, ${escapeHtml(when(p.draft.saved_at))}` : '-';
      return `<tr data-key="${escapeHtml(p.key)}">
        <td><strong>${escapeHtml(p.title || p.key)}</strong><br><code>${escapeHtml(p.key)}</code></td>
        <td>${p.current_version == null ? '-' : escapeHtml(p.current_version)}</td>
        <td>${draft}</td>
        <td><a class="button" href="/admin/proses/${key}">Ubah diagram<span class="visually-hidden"> ${escapeHtml(p.title || p.key)}</span></a>
            <a href="/admin/proses/${key}/versi">Versi<span class="visually-hidden"> ${escapeHtml(p.title || p.key)}</span></a></td></tr>`;
    }).join('');
  });
})();
