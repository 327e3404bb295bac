// /admin/proses/<key>: the BPMN modeler on the draft (or the current version). Simpan draf, Periksa and
// Terbitkan call the process-owner API; the server's problems (every publish check) are shown on the
// elements next to the live bpmnlint issues. window.sertelModeler exposes the state for the browser test.
(function () {
  'use strict';
  const { api, errorOf, escapeHtml, when } = window.SertelPages;
  const root = document.getElementById('modeler-app');
  const key = root.dataset.key;
  const path = '/processes/' + encodeURIComponent(key);
  const statusLine = document.getElementById('modeler-status');
  const summary = document.getElementById('modeler-problems-summary');
  const serverList = document.getElementById('modeler-server-problems');
  const lintList = document.getElementById('modeler-lint-problems');
  const regressionList = document.getElementById('modeler-regressions');
  const regressionSummary = document.getElementById('modeler-regressions-summary');
  const CHECK_DELAY_MS = 1500;

  const state = {
    modeler: null,
    ready: false,
    dirty: false,
    catalogue: null,
    lintIssues: {},
    serverProblems: [],
    regressions: [],
    checks: 0,
    published: null
  };
  window.sertelModeler = state;

  function status(text) {
    statusLine.textContent = text;
  }

  // ---- problems on the elements --------------------------------------------------------------------

  function elementLabel(id) {
    const element = state.modeler.get('elementRegistry').get(id);
    const name = element && element.businessObject && element.businessObject.name;
    return name ? `${id} (${name})` : id;
  }

  function problemItem(id, message, cssClass) {
    const li = document.createElement('li');
    if (cssClass) {
      li.className = cssClass;
    }
    if (id) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'link';
      button.textContent = elementLabel(id);
      button.dataset.element = id;
      button.addEventListener('click', () => selectElement(id));
      li.appendChild(button);
      li.appendChild(document.createTextNode(': '));
    }
    li.appendChild(document.createTextNode(message));
    return li;
  }

  function selectElement(id) {
    const element = state.modeler.get('elementRegistry').get(id);
    if (!element) {
      return;
    }
    state.modeler.get('selection').select(element);
    const canvas = state.modeler.get('canvas');
    if (element.waypoints || element.x !== undefined) {
      canvas.scrollToElement(element);
    }
  }

  function showServerProblems(problems) {
    const overlays = state.modeler.get('overlays');
    const canvas = state.modeler.get('canvas');
    const registry = state.modeler.get('elementRegistry');
    overlays.remove({ type: 'sertel-problem' });
    for (const old of state.serverProblems) {
      if (old.element_id && registry.get(old.element_id)) {
        canvas.removeMarker(old.element_id, 'sertel-problem-marker');
      }
    }
    state.serverProblems = problems;
    serverList.replaceChildren();
    const byElement = new Map();
    for (const problem of problems) {
      serverList.appendChild(problemItem(problem.element_id, problem.message, 'server'));
      if (problem.element_id && registry.get(problem.element_id)) {
        const list = byElement.get(problem.element_id) || [];
        list.push(problem.message);
        byElement.set(problem.element_id, list);
      }
    }
    for (const [ id, messages ] of byElement) {
      canvas.addMarker(id, 'sertel-problem-marker');
      const badge = document.createElement('div');
      badge.className = 'sertel-problem-badge';
      badge.dataset.element = id;
      badge.title = messages.join('\n');
      badge.textContent = String(messages.length);
      overlays.add(id, 'sertel-problem', { position: { top: -10, left: -10 }, html: badge });
    }
    updateSummary();
  }

  // Each stored regression fixture re-executed on the diagram by the server check (passed or where it departs).
  function showRegressions(results) {
    state.regressions = results;
    regressionList.replaceChildren();
    for (const result of results) {
      const item = problemItem(result.passed ? null : result.element_id, result.message,
        result.passed ? 'regression passed' : 'regression failed');
      item.dataset.fixture = String(result.id);
      regressionList.appendChild(item);
    }
    const failed = results.filter((r) => !r.passed).length;
    regressionSummary.textContent = results.length
      ? `Uji regresi: ${results.length - failed} dari ${results.length} menempuh jalur yang sama${failed ? `; ${failed} berubah (diagram ini tidak dapat diterbitkan)` : ''}.`
      : 'Belum ada uji regresi.';
  }

  function showLintIssues(issues) {
    state.lintIssues = issues || {};
    lintList.replaceChildren();
    for (const [ id, list ] of Object.entries(state.lintIssues)) {
      for (const issue of list) {
        const rule = issue.rule ? ` [${issue.rule}]` : '';
        lintList.appendChild(problemItem(id, `${issue.message}${rule}`, `lint ${issue.category}`));
      }
    }
    updateSummary();
  }

  function lintCount(category) {
    return Object.values(state.lintIssues).flat().filter((i) => i.category === category).length;
  }

  function updateSummary() {
    const errors = lintCount('error');
    const warnings = lintCount('warn');
    const server = state.checks ? `${state.serverProblems.length} masalah dari pemeriksaan server` : 'pemeriksaan server belum dijalankan';
    summary.textContent = `${server}; pemeriksaan diagram (bpmnlint): ${errors} galat, ${warnings} peringatan.`;
  }

  // ---- server calls ----------------------------------------------------------------------------------

  async function currentXml() {
    const { xml } = await state.modeler.saveXML({ format: true });
    return xml;
  }

  let checkTimer = null;
  let checkSeq = 0;

  async function check(explicit) {
    clearTimeout(checkTimer);
    const seq = ++checkSeq;
    const xml = await currentXml();
    const result = await api('POST', path + '/check', { xml });
    if (seq !== checkSeq) {
      return; // a newer edit started another check
    }
    if (result.status !== 200 || !result.body || !Array.isArray(result.body.problems)) {
      if (explicit) {
        status('Pemeriksaan server gagal: ' + errorOf(result));
      }
      return;
    }
    state.checks++;
    showServerProblems(result.body.problems);
    if (Array.isArray(result.body.regressions)) {
      showRegressions(result.body.regressions);
    }
    if (explicit) {
      status(result.body.problems.length ? `Pemeriksaan: ${result.body.problems.length} masalah.` : 'Pemeriksaan: tidak ada masalah.');
    }
  }

  function scheduleCheck() {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(() => check(false), CHECK_DELAY_MS);
  }

  async function saveDraft() {
    const xml = await currentXml();
    const result = await api('PUT', path + '/draft', { xml });
    if (result.status !== 200) {
      status('Draf tidak tersimpan: ' + errorOf(result));
      return;
    }
    state.dirty = false;
    status(`Draf tersimpan (${when(result.body.saved_at)}).`);
    if (Array.isArray(result.body.problems)) {
      state.checks++;
      showServerProblems(result.body.problems);
    }
  }

  async function publish() {
    const errors = lintCount('error');
    const question = errors
      ? `Diagram masih memiliki ${errors} galat pemeriksaan. Tetap coba terbitkan?`
      : 'Terbitkan diagram ini sebagai versi baru? Kasus baru akan dimulai pada versi ini.';
    if (!window.confirm(question)) {
      return;
    }
    const xml = await currentXml();
    const result = await api('POST', path + '/publish', { xml });
    if (result.status === 201 || result.status === 200) {
      state.dirty = false;
      state.published = result.body;
      state.checks++;
      showServerProblems([]);
      const link = root.dataset.versionsUrl;
      statusLine.innerHTML = result.body.unchanged
        ? `Tidak ada perubahan: versi ${escapeHtml(result.body.version)} tetap berlaku.`
        : `Versi ${escapeHtml(result.body.version)} diterbitkan. <a href="${escapeHtml(link)}?ke=${encodeURIComponent(result.body.version)}">Lihat versi dan perbandingan</a>`;
      return;
    }
    const problems = (result.body && result.body.problems) || [];
    state.checks++;
    showServerProblems(problems);
    status(`Tidak diterbitkan: ${errorOf(result)}${problems.length ? ` (${problems.length} masalah, lihat di bawah)` : ''}`);
  }

  function toggleSimulation() {
    const toggle = state.modeler.get('toggleMode');
    toggle.toggleMode();
  }

  // ---- start ----------------------------------------------------------------------------------------

  async function load() {
    const [ catalogueResult, processResult ] = await Promise.all([ api('GET', '/catalogue'), api('GET', path) ]);
    if (catalogueResult.status === 200 && catalogueResult.body) {
      state.catalogue = catalogueResult.body;
      window.SertelBpmn.setCatalogue(state.catalogue);
    }
    if (processResult.status !== 200 || !processResult.body) {
      status('Proses tidak dapat dimuat: ' + errorOf(processResult));
      return;
    }
    const process = processResult.body;
    let xml;
    let opened;
    if (process.draft && process.draft.xml) {
      xml = process.draft.xml;
      opened = `Draf (disimpan ${process.draft.saved_by}, ${when(process.draft.saved_at)}, berdasarkan versi ${process.draft.base_version ?? '-'})`;
    } else if (process.current) {
      const xmlResult = await api('GET', `${path}/versions/${encodeURIComponent(process.current.version)}/xml`);
      if (xmlResult.status !== 200) {
        status('Diagram tidak dapat dimuat: ' + errorOf(xmlResult));
        return;
      }
      xml = xmlResult.body;
      opened = `Versi ${process.current.version} (terbit ${when(process.current.published_at)} oleh ${process.current.published_by})`;
    } else {
      status('Proses ini belum memiliki versi terbit maupun draf.');
      return;
    }

    const modeler = window.SertelBpmn.createModeler({ container: '#modeler-canvas', propertiesPanel: '#modeler-properties' });
    state.modeler = modeler;
    const eventBus = modeler.get('eventBus');
    eventBus.on('linting.completed', (event) => showLintIssues(event.issues));
    eventBus.on('commandStack.changed', () => {
      state.dirty = true;
      scheduleCheck();
    });
    eventBus.on('tokenSimulation.toggleMode', (event) => {
      document.getElementById('modeler-simulate').setAttribute('aria-pressed', event.active ? 'true' : 'false');
    });
    try {
      const { warnings } = await modeler.importXML(xml);
      modeler.get('canvas').zoom('fit-viewport');
      const catalogueNote = state.catalogue ? '' : ' Katalog tidak dapat dimuat: formulir dan operator tidak diperiksa.';
      status(`${opened}.${warnings.length ? ` ${warnings.length} peringatan impor.` : ''}${catalogueNote}`);
    } catch (err) {
      status('Diagram tidak dapat dibuka: ' + err.message);
      return;
    }
    document.getElementById('modeler-save').addEventListener('click', saveDraft);
    document.getElementById('modeler-check').addEventListener('click', () => check(true));
    document.getElementById('modeler-publish').addEventListener('click', publish);
    document.getElementById('modeler-simulate').addEventListener('click', toggleSimulation);
    window.addEventListener('beforeunload', (event) => {
      if (state.dirty) {
        event.preventDefault();
        event.returnValue = '';
      }
    });
    state.ready = true;
    check(false);
  }

  load();
})();
