// Every user task (and a process start form) names a form of the catalogue: <sertel:form name="...">.
const { is, label, extensions } = require('../helpers');
const { formNames } = require('../catalogue');

module.exports = function() {
  function check(node, reporter) {
    const isTask = is(node, 'bpmn:UserTask');
    if (!isTask && !is(node, 'bpmn:Process')) {
      return;
    }
    const forms = extensions(node, 'sertel:Form');
    if (isTask && !forms.length) {
      reporter.report(node.id, `tugas ${label(node)}: belum memilih formulir (sertel:form)`);
      return;
    }
    if (forms.length > 1) {
      reporter.report(node.id, `${label(node)}: lebih dari satu formulir (sertel:form)`);
    }
    const known = formNames();
    for (const form of forms) {
      if (!form.name) {
        reporter.report(node.id, `${label(node)}: nama formulir kosong`);
      } else if (known && !known.has(form.name)) {
        reporter.report(node.id, `${label(node)}: formulir '${form.name}' tidak ada di katalog`);
      }
      const seen = new Set();
      for (const input of form.input || []) {
        if (!input.name) {
          reporter.report(node.id, `${label(node)}: masukan formulir tanpa nama`);
        } else if (seen.has(input.name)) {
          reporter.report(node.id, `${label(node)}: masukan formulir '${input.name}' ganda`);
        }
        seen.add(input.name);
        if (!(input.value || '').trim()) {
          reporter.report(node.id, `${label(node)}: masukan formulir '${input.name || ''}' tanpa ekspresi`);
        }
      }
    }
  }
  return { check };
};
