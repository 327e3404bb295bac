// Every service task names a known operator (optionally pinned, name@version) and passes its required
// parameters; no parameter the operator does not declare.
const { is, label, extensions, parseOperatorId } = require('../helpers');
const { findOperator } = require('../catalogue');

module.exports = function() {
  function check(node, reporter) {
    if (!is(node, 'bpmn:ServiceTask')) {
      return;
    }
    const operators = extensions(node, 'spiffworkflow:ServiceTaskOperator');
    if (!operators.length || !operators[0].id) {
      reporter.report(node.id, `tugas layanan ${label(node)}: belum memilih operator`);
      return;
    }
    const operator = operators[0];
    const { name, version } = parseOperatorId(operator.id);
    const entry = findOperator(name, version);
    if (entry === undefined) {
      const what = version == null ? `operator '${name}'` : `operator '${name}' versi ${version}`;
      reporter.report(node.id, `tugas layanan ${label(node)}: ${what} tidak terdaftar`);
      return;
    }
    const given = ((operator.parameters && operator.parameters.parameter) || []);
    const names = new Set();
    for (const param of given) {
      if (names.has(param.id)) {
        reporter.report(node.id, `tugas layanan ${label(node)}: parameter '${param.id}' ganda`);
      }
      names.add(param.id);
      if (!(param.value || '').trim()) {
        reporter.report(node.id, `tugas layanan ${label(node)}: parameter '${param.id}' tanpa nilai`);
      }
    }
    if (!entry || !Array.isArray(entry.params)) {
      return; // no catalogue, or an operator that declares no parameters: nothing more to compare with
    }
    const declared = entry.params;
    for (const param of declared) {
      if (param.required !== false && !names.has(param.name)) {
        reporter.report(node.id, `tugas layanan ${label(node)}: parameter wajib '${param.name}' dari '${name}' belum diisi`);
      }
    }
    const declaredNames = new Set(declared.map((p) => p.name));
    // An empty list may mean "declares nothing" (a registry without parameter declarations): the server's
    // publish check still refuses parameters an operator does not take.
    for (const param of declared.length ? given : []) {
      if (param.id && !declaredNames.has(param.id)) {
        reporter.report(node.id, `tugas layanan ${label(node)}: parameter '${param.id}' tidak dikenal oleh '${name}'`);
      }
    }
  }
  return { check };
};
