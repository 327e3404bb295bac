// /kasus/<id>/putar-ulang: the case step by step on the diagram of the version it ran on. The steps (each
// logged event with the case as it was right after it) come from the #replay-data JSON block; the slider
// picks one, the viewer highlights what was done and what was waiting, the panel shows what was true then.
// window.sertelReplay exposes the state for the browser test.
(function () {
  'use strict';
  const root = document.getElementById('replay-app');
  const view = JSON.parse(document.getElementById('replay-data').textContent);
  const steps = view.steps;
  const slider = document.getElementById('replay-slider');
  const list = document.getElementById('replay-steps');
  const detail = document.getElementById('replay-detail');
  const position = document.getElementById('replay-position');
  const state = { index: 0, ready: false, marked: [] };
  window.sertelReplay = state;

  const KIND_ROLES = { Pemohon: 'Pemohon', Atasan: 'Atasan', Verifikator: 'Verifikator', Admin: 'Admin' };

  function wib(iso) {
    const utc = new Date(iso.endsWith('Z') || iso.includes('+') ? iso : iso + 'Z');
    const t = new Date(utc.getTime() + 7 * 3600 * 1000);
    const two = (n) => String(n).padStart(2, '0');
    return `${two(t.getUTCDate())}-${two(t.getUTCMonth() + 1)}-${t.getUTCFullYear()} ` +
      `${two(t.getUTCHours())}:${two(t.getUTCMinutes())}:${two(t.getUTCSeconds())} WIB`;
  }

  function kindLabel(kind) {
    return view.event_labels[kind] || kind;
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function show(value) {
    if (value === null || value === undefined || value === '') return '—';
    if (typeof value === 'boolean') return value ? 'ya' : 'tidak';
    if (typeof value === 'object') {
      const text = JSON.stringify(value);
      return text.length > 200 ? text.slice(0, 197) + '…' : text;
    }
    return String(value);
  }

  function label(name) {
    return view.labels[name] || name;
  }

  function stepTitle(step) {
    const parts = [kindLabel(step.kind)];
    if (step.task_name) parts.push(step.label || label(step.task_name));
    return parts.join(' · ');
  }

  function who(step) {
    const name = step.actor_name ? `${step.actor_name} (${step.actor})` : step.actor;
    const trigger = step.triggered_by ? ` (dipicu oleh ${step.triggered_by})` : '';
    return name + trigger;
  }

  function grid(title, entries) {
    const section = el('section');
    section.appendChild(el('h3', title));
    const dl = el('dl');
    entries.forEach(([k, v]) => {
      dl.appendChild(el('dt', k));
      dl.appendChild(el('dd', show(v)));
    });
    // An empty list is a dash, not a <dl> of a lone <dd> (a definition list needs its terms).
    section.appendChild(entries.length ? dl : el('p', '—'));
    return section;
  }

  function raw(title, value) {
    const details = el('details');
    details.appendChild(el('summary', title));
    details.appendChild(el('pre', JSON.stringify(value, null, 2)));
    return details;
  }

  function documentsUntil(index) {
    const docs = [];
    steps.slice(0, index + 1).forEach((s) => {
      if (s.kind === 'document_stored') docs.push(s.payload);
    });
    return docs;
  }

  function renderList() {
    steps.forEach((step, i) => {
      const item = el('li', `#${step.seq} · ${wib(step.at)} · ${stepTitle(step)}` +
        (step.in_called_process ? ` — ${step.process_title}` : ''));
      item.dataset.index = String(i);
      item.dataset.seq = String(step.seq);
      if (step.in_called_process) item.classList.add('called');
      item.addEventListener('click', () => select(i));
      list.appendChild(item);
    });
  }

  function renderDetail(step, index) {
    detail.replaceChildren();
    detail.appendChild(el('h2', `Langkah #${step.seq}: ${stepTitle(step)}`));
    const facts = [['Waktu', wib(step.at)], ['Oleh', who(step)]];
    if (step.role) facts.push(['Peran', KIND_ROLES[step.role] || step.role]);
    facts.push(['Proses', step.process_title + (step.in_called_process ? ' (dipanggil)' : '')]);
    const p = step.payload;
    if (step.kind === 'case_started') {
      facts.push(['Versi', `${p.sop_key} v${p.deployment_version}`], ['Pemohon', p.applicant]);
      if (p.on_behalf) facts.push(['Atas nama', `${p.on_behalf.by}: ${p.on_behalf.reason}`]);
    }
    if (step.kind === 'timer_fired') facts.push(['Pewaktu jatuh tempo', wib(p.due_at)]);
    if (step.kind === 'message_received') facts.push(['Pesan', p.message]);
    if (p.operator) facts.push(['Operator layanan', p.operator]);
    if (p.type) facts.push(['Jenis elemen', p.type]);
    detail.appendChild(grid('Peristiwa', facts));
    if (step.kind === 'task_completed') {
      const sub = p.submission || {};
      const entries = Object.keys(sub).map((k) => [k, k === 'decision' ? (view.decision_labels[sub[k]] || sub[k]) : sub[k]]);
      detail.appendChild(grid(`Formulir yang dikirim oleh ${who(step)}`, entries));
    }
    if (step.kind === 'message_received' && p.payload && Object.keys(p.payload).length) {
      detail.appendChild(grid(`Isi pesan '${p.message}'`, Object.entries(p.payload)));
    }
    if (step.kind === 'case_started' && p.start_data) {
      detail.appendChild(grid('Data awal permohonan', Object.entries(p.start_data)));
    }
    if (step.service_inputs) {
      detail.appendChild(grid('Masukan layanan (dihitung ulang dari data saat itu)', Object.entries(step.service_inputs)));
    }
    if (step.kind === 'step_completed' && p.output) {
      detail.appendChild(grid(p.operator ? 'Keluaran layanan' : 'Keluaran langkah', Object.entries(p.output)));
    }
    const docs = documentsUntil(index);
    const docSection = el('section');
    docSection.appendChild(el('h3', 'Dokumen sampai langkah ini'));
    const ul = el('ul', null, 'replay-documents');
    docs.forEach((d) => ul.appendChild(el('li', `${d.filename} · ${d.kind || ''} · sha256 ${d.sha256}`)));
    if (!docs.length) ul.appendChild(el('li', 'Belum ada dokumen.'));
    docSection.appendChild(ul);
    detail.appendChild(docSection);
    detail.appendChild(grid('Data kasus saat itu', Object.entries(step.data || {}).map(([k, v]) => [label(k), v])));
    detail.appendChild(raw('Data mentah peristiwa (JSON)', p));
    detail.appendChild(raw('Data kasus mentah saat itu (JSON)', step.data || {}));
  }

  // A viewer with the markers it currently shows.
  const main = { viewer: null, marked: [] };
  const called = { viewer: null, marked: [], process: null };
  state.called = called;

  function applyMarkers(target, step) {
    if (!target.viewer) return;
    const canvas = target.viewer.get('canvas');
    const registry = target.viewer.get('elementRegistry');
    target.marked.forEach(([id, cls]) => canvas.removeMarker(id, cls));
    target.marked = [];
    const add = (id, cls) => {
      if (registry.get(id)) {
        canvas.addMarker(id, cls);
        target.marked.push([id, cls]);
      }
    };
    (step.completed || []).forEach((id) => add(id, 'replay-done'));
    (step.active || []).forEach((id) => add(id, 'replay-active'));
    if (step.task_name) add(step.task_name, 'replay-current');
  }

  // A step inside a called process: that process's own diagram below the main one (when it is provably
  // the one the case's version called).
  async function showCalled(step) {
    const box = document.getElementById('replay-called-box');
    if (!step.in_called_process || !view.called_diagrams.includes(step.process)) {
      box.hidden = true;
      applyMarkers(called, { completed: [], active: [] });
      delete root.dataset.called;
      return;
    }
    box.hidden = false;
    document.getElementById('replay-called-title').textContent = `Sub-proses: ${step.process_title}`;
    if (!called.viewer) called.viewer = window.SertelBpmn.createViewer({ container: '#replay-called' });
    if (called.process !== step.process) {
      called.process = step.process;
      called.marked = [];
      const url = root.dataset.calledUrl.replace('__ID__', encodeURIComponent(step.process));
      const xml = await (await fetch(url, { credentials: 'same-origin' })).text();
      await called.viewer.importXML(xml);
      called.viewer.get('canvas').zoom('fit-viewport');
    }
    const now = steps[state.index];
    if (now.process === called.process) applyMarkers(called, now);
    root.dataset.called = called.process;
  }

  function mark(step) {
    applyMarkers(main, step);
    showCalled(step).catch((err) => {
      document.getElementById('replay-called').textContent = 'Diagram sub-proses tidak dapat ditampilkan: ' + err.message;
    });
  }

  // Clicking a call activity on the main diagram goes to its process's next step (drilling into it).
  function drillInto(element) {
    const bo = element && element.businessObject;
    if (!bo || bo.$type !== 'bpmn:CallActivity' || !bo.calledElement) return;
    let at = steps.findIndex((s, i) => i >= state.index && s.process === bo.calledElement);
    if (at < 0) at = steps.findIndex((s) => s.process === bo.calledElement);
    if (at >= 0) select(at);
  }

  function select(index) {
    state.index = Math.max(0, Math.min(steps.length - 1, index));
    slider.value = String(state.index);
    const step = steps[state.index];
    list.querySelectorAll('li').forEach((li) => {
      const i = Number(li.dataset.index);
      li.classList.toggle('selected', i === state.index);
      li.classList.toggle('future', i > state.index);
    });
    const current = list.querySelector('li.selected');
    if (current && current.scrollIntoView) current.scrollIntoView({ block: 'nearest' });
    position.textContent = `Langkah ${state.index + 1} dari ${steps.length} (peristiwa #${step.seq})`;
    renderDetail(step, state.index);
    mark(step);
    root.dataset.seq = String(step.seq);
  }

  async function check() {
    const result = document.getElementById('replay-check-result');
    result.className = '';
    result.textContent = 'Menjalankan ulang…';
    try {
      const response = await fetch(root.dataset.checkUrl, {
        method: 'POST',
        headers: { 'X-CSRF-Token': root.dataset.csrf, Accept: 'application/json' },
        credentials: 'same-origin'
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error || response.statusText);
      result.textContent = body.summary;
      result.className = body.equal ? 'ok' : 'bad';
      if (!body.equal && body.seq) {
        const at = steps.findIndex((s) => s.seq === body.seq);
        if (at >= 0) select(at);
      }
    } catch (err) {
      result.textContent = 'Pemeriksaan gagal: ' + err.message;
      result.className = 'bad';
    }
  }

  async function start() {
    renderList();
    slider.addEventListener('input', () => select(Number(slider.value)));
    document.getElementById('replay-prev').addEventListener('click', () => select(state.index - 1));
    document.getElementById('replay-next').addEventListener('click', () => select(state.index + 1));
    document.getElementById('replay-check').addEventListener('click', check);
    select(0);
    try {
      main.viewer = window.SertelBpmn.createViewer({ container: '#replay-diagram' });
      const xml = await (await fetch(root.dataset.diagramUrl, { credentials: 'same-origin' })).text();
      await main.viewer.importXML(xml);
      main.viewer.get('canvas').zoom('fit-viewport');
      main.viewer.on('element.click', (event) => drillInto(event.element));
      select(state.index);
    } catch (err) {
      document.getElementById('replay-diagram').textContent = 'Diagram tidak dapat ditampilkan: ' + err.message;
    }
    state.ready = true;
    root.dataset.ready = '1';
  }

  start();
}());
