// /admin/proses/<key>/versi: the published versions (roll back = publish an earlier one again as a new
// version) and the visual diff of two versions (bpmn-js-differ: added / removed / changed / moved
// coloured, plus the changed properties). Query ?dari=a&ke=b picks the pair; default: the current version
// against the one before it. window.sertelVersions exposes the state for the browser test.
(function () {
  'use strict';
  const { api, errorOf, escapeHtml, when } = window.SertelPages;
  const root = document.getElementById('versions-app');
  const key = root.dataset.key;
  const path = '/processes/' + encodeURIComponent(key);
  const statusLine = document.getElementById('versions-status');
  const tableBody = document.querySelector('#versions-table tbody');
  const state = { versions: [], diff: null, from: null, to: null };
  window.sertelVersions = state;

  const CHANGE_LABELS = { added: 'ditambah', removed: 'dihapus', changed: 'diubah', moved: 'dipindah' };
  let viewers = null;

  function status(text) {
    statusLine.textContent = text;
  }

  function renderTable() {
    tableBody.innerHTML = state.versions.map((v) => {
      const rolled = v.rolled_back_from != null ? `<br><small>pengembalian dari versi ${escapeHtml(v.rolled_back_from)}</small>` : '';
      const current = v.is_current ? ' <strong>(berlaku)</strong>' : '';
      const action = v.is_current ? '' : `<button type="button" class="rollback" data-version="${escapeHtml(v.version)}">Kembalikan ke versi ini</button>`;
      return `<tr data-version="${escapeHtml(v.version)}">
        <td>${escapeHtml(v.version)}${current}${rolled}</td>
        <td>${escapeHtml(v.published_by)}</td>
        <td>${escapeHtml(when(v.published_at))}</td>
        <td><code title="${escapeHtml(v.sha256)}">${escapeHtml((v.sha256 || '').slice(0, 12))}</code></td>
        <td>${escapeHtml(v.running_cases ?? 0)}</td>
        <td><input type="radio" name="diff-from" value="${escapeHtml(v.version)}" aria-label="versi lama ${escapeHtml(v.version)}"${v.version === state.from ? ' checked' : ''}>
            <input type="radio" name="diff-to" value="${escapeHtml(v.version)}" aria-label="versi baru ${escapeHtml(v.version)}"${v.version === state.to ? ' checked' : ''}></td>
        <td><a href="/api/v1${path}/versions/${encodeURIComponent(v.version)}/xml">XML</a> ${action}</td></tr>`;
    }).join('') || '<tr><td colspan="7">Belum ada versi terbit.</td></tr>';
    for (const button of tableBody.querySelectorAll('button.rollback')) {
      button.addEventListener('click', () => rollback(Number(button.dataset.version)));
    }
  }

  async function loadVersions() {
    const result = await api('GET', path + '/versions');
    if (result.status !== 200 || !Array.isArray(result.body)) {
      status('Daftar versi tidak dapat dimuat: ' + errorOf(result));
      return false;
    }
    state.versions = [ ...result.body ].sort((a, b) => b.version - a.version);
    return true;
  }

  function defaultPair() {
    const params = new URLSearchParams(window.location.search);
    const numbers = state.versions.map((v) => v.version);
    const current = state.versions.find((v) => v.is_current);
    let to = Number(params.get('ke')) || (current ? current.version : numbers[0]);
    if (!numbers.includes(to)) {
      to = numbers[0];
    }
    let from = Number(params.get('dari'));
    if (!numbers.includes(from)) {
      from = numbers.filter((n) => n < to).sort((a, b) => b - a)[0] ?? to;
    }
    state.from = from;
    state.to = to;
  }

  async function rollback(version) {
    if (!window.confirm(`Kembalikan ke versi ${version}? Versi itu diterbitkan lagi sebagai versi baru dan kasus baru dimulai padanya.`)) {
      return;
    }
    const result = await api('POST', path + '/rollback', { version });
    if (result.status !== 201) {
      status('Tidak dapat dikembalikan: ' + errorOf(result));
      return;
    }
    await loadVersions();
    state.from = version;
    state.to = result.body.version;
    renderTable();
    status(`Versi ${version} diterbitkan lagi sebagai versi ${result.body.version}.`);
    await compare();
  }

  async function fetchXml(version) {
    const result = await api('GET', `${path}/versions/${encodeURIComponent(version)}/xml`);
    if (result.status !== 200 || typeof result.body !== 'string') {
      throw new Error(`versi ${version}: ${errorOf(result)}`);
    }
    return result.body;
  }

  function mark(viewer, ids, cssClass) {
    const registry = viewer.get('elementRegistry');
    const canvas = viewer.get('canvas');
    for (const id of ids) {
      if (registry.get(id)) {
        canvas.addMarker(id, cssClass);
      }
    }
  }

  function renderChanges(diff) {
    const rows = [];
    const name = (e) => `<code>${escapeHtml(e.id)}</code>${e.name ? ` ${escapeHtml(e.name)}` : ''} <small>${escapeHtml((e.type || '').replace('bpmn:', ''))}</small>`;
    for (const kind of [ 'added', 'removed', 'moved' ]) {
      for (const e of diff[kind]) {
        rows.push(`<tr class="diff-row-${kind}" data-element="${escapeHtml(e.id)}"><td>${CHANGE_LABELS[kind]}</td><td>${name(e)}</td><td></td><td></td><td></td></tr>`);
      }
    }
    for (const e of diff.changed) {
      const attrs = Object.entries(e.attrs);
      attrs.forEach(([ attr, values ], index) => {
        rows.push(`<tr class="diff-row-changed" data-element="${escapeHtml(e.id)}"><td>${index ? '' : CHANGE_LABELS.changed}</td>
          <td>${index ? '' : name(e)}</td><td>${escapeHtml(attr)}</td>
          <td><code>${escapeHtml(values.oldValue)}</code></td><td><code>${escapeHtml(values.newValue)}</code></td></tr>`);
      });
    }
    document.querySelector('#diff-changes tbody').innerHTML = rows.join('') || '<tr><td colspan="5">Tidak ada perbedaan.</td></tr>';
    document.getElementById('diff-summary').textContent =
      `${diff.added.length} ditambah, ${diff.removed.length} dihapus, ${diff.changed.length} diubah, ${diff.moved.length} dipindah.`;
  }

  async function compare() {
    const from = Number((document.querySelector('input[name=diff-from]:checked') || {}).value || state.from);
    const to = Number((document.querySelector('input[name=diff-to]:checked') || {}).value || state.to);
    if (!from || !to) {
      return;
    }
    state.from = from;
    state.to = to;
    status(`Membandingkan versi ${from} dengan versi ${to}…`);
    try {
      const [ oldXml, newXml ] = await Promise.all([ fetchXml(from), fetchXml(to) ]);
      document.getElementById('diff').hidden = false;
      if (!viewers) {
        viewers = {
          old: window.SertelBpmn.createViewer({ container: '#diff-old' }),
          new: window.SertelBpmn.createViewer({ container: '#diff-new' })
        };
      }
      await viewers.old.importXML(oldXml);
      await viewers.new.importXML(newXml);
      viewers.old.get('canvas').zoom('fit-viewport');
      viewers.new.get('canvas').zoom('fit-viewport');
      const diff = await window.SertelBpmn.diffVersions(oldXml, newXml);
      const ids = (list) => list.map((e) => e.id);
      mark(viewers.new, ids(diff.added), 'diff-added');
      mark(viewers.old, ids(diff.removed), 'diff-removed');
      mark(viewers.old, ids(diff.changed), 'diff-changed');
      mark(viewers.new, ids(diff.changed), 'diff-changed');
      mark(viewers.old, ids(diff.moved), 'diff-moved');
      mark(viewers.new, ids(diff.moved), 'diff-moved');
      document.getElementById('diff-title').textContent = `Perbandingan versi ${from} → ${to}`;
      document.getElementById('diff-old-title').textContent = `Versi ${from} (lama)`;
      document.getElementById('diff-new-title').textContent = `Versi ${to} (baru)`;
      renderChanges(diff);
      state.diff = diff;
      status(from === to ? 'Versi yang sama dipilih dua kali.' : `Perbandingan versi ${from} → ${to}.`);
    } catch (err) {
      status('Perbandingan gagal: ' + err.message);
    }
  }

  // Migration of running cases from the "old" to the "new" version of the pair: preview first, then move.
  function selectedPair() {
    const from = Number((document.querySelector('input[name=diff-from]:checked') || {}).value || state.from);
    const to = Number((document.querySelector('input[name=diff-to]:checked') || {}).value || state.to);
    return { from, to };
  }

  function renderMigration(plan) {
    const table = document.getElementById('migration-table');
    const steps = (tasks) => (tasks || []).map((t) => escapeHtml(typeof t === 'string' ? t : (t.label || t.name || ''))).join(', ');
    const rows = [
      ...plan.movable.map((c) => `<tr data-case="${escapeHtml(c.case_id)}"><td>#${escapeHtml(c.case_id)}</td><td>ya</td><td>${steps(c.tasks)}</td></tr>`),
      ...plan.blocked.map((c) => `<tr data-case="${escapeHtml(c.case_id)}"><td>#${escapeHtml(c.case_id)}</td><td>tidak</td><td>${escapeHtml(c.reason)}</td></tr>`)
    ];
    table.querySelector('tbody').innerHTML = rows.join('') || '<tr><td colspan="3">Tidak ada kasus berjalan pada versi lama.</td></tr>';
    table.hidden = false;
    document.getElementById('migration-run').disabled = plan.movable.length === 0;
  }

  async function previewMigration() {
    const { from, to } = selectedPair();
    if (!from || !to || from === to) {
      status('Pilih dua versi yang berbeda (lama dan baru) untuk pemindahan.');
      return null;
    }
    const result = await api('GET', `${path}/migrations/preview?from=${from}&to=${to}`);
    if (result.status !== 200) {
      status('Pratinjau gagal: ' + errorOf(result));
      return null;
    }
    state.migration = { from, to, plan: result.body };
    renderMigration(result.body);
    status(`Pratinjau versi ${from} → ${to}: ${result.body.movable.length} kasus dapat dipindah, ${result.body.blocked.length} tidak.`);
    return result.body;
  }

  async function runMigration() {
    if (!state.migration) {
      return;
    }
    const { from, to, plan } = state.migration;
    const ids = plan.movable.map((c) => c.case_id);
    if (!window.confirm(`Pindahkan ${ids.length} kasus dari versi ${from} ke versi ${to}?`)) {
      return;
    }
    const result = await api('POST', `${path}/migrations`, { from, to, case_ids: ids });
    if (result.status !== 200) {
      status('Pemindahan gagal: ' + errorOf(result));
      return;
    }
    await loadVersions();
    renderTable();
    await previewMigration();
    status(`${result.body.migrated.length} kasus dipindah ke versi ${to}; ${result.body.blocked.length} tetap.`);
  }

  async function start() {
    document.getElementById('migration-preview').addEventListener('click', previewMigration);
    document.getElementById('migration-run').addEventListener('click', runMigration);
    if (!(await loadVersions())) {
      return;
    }
    defaultPair();
    renderTable();
    document.getElementById('versions-compare').addEventListener('click', compare);
    if (state.versions.length > 1 && state.from !== state.to) {
      await compare();
    } else {
      status(state.versions.length ? 'Hanya ada satu versi terbit.' : '');
    }
  }

  start();
})();
