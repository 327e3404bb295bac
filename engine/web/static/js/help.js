// /bantuan: each SOP's current diagram in a read-only bpmn-js viewer (pan and zoom, no editing).
// The diagrams load when their section comes into view; a failure says so in the box.
(function () {
  'use strict';
  const boxes = Array.from(document.querySelectorAll('.help-diagram[data-diagram-url]'));

  async function show(box) {
    if (box.dataset.loaded) return;
    box.dataset.loaded = 'loading';
    try {
      const viewer = window.SertelBpmn.createViewer({ container: box });
      const response = await fetch(box.dataset.diagramUrl, { credentials: 'same-origin' });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      await viewer.importXML(await response.text());
      viewer.get('canvas').zoom('fit-viewport');
      box.dataset.loaded = '1';
    } catch (err) {
      box.textContent = 'Diagram tidak dapat ditampilkan: ' + err.message;
      box.dataset.loaded = 'error';
    }
  }

  if ('IntersectionObserver' in window) {
    const observer = new IntersectionObserver((entries) => {
      entries.forEach((entry) => {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          show(entry.target);
        }
      });
    }, { rootMargin: '200px' });
    boxes.forEach((box) => observer.observe(box));
  } else {
    boxes.forEach(show);
  }
}());
