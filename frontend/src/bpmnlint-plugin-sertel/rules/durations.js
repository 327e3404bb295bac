// Durations parse: SLA properties of kind "duration" and literal timer durations are ISO 8601
// durations, and a timer's setting('name') names a setting the catalogue or the diagram knows.
const { is, label, extensions, isDuration } = require('../helpers');
const { settings } = require('../catalogue');

function processOf(node) {
  let p = node;
  while (p && !is(p, 'bpmn:Process')) {
    p = p.$parent;
  }
  return p;
}

function properties(process) {
  const map = new Map();
  for (const group of process ? extensions(process, 'sertel:Properties') : []) {
    for (const property of group.property || []) {
      map.set(property.name, property);
    }
  }
  return map;
}

module.exports = function() {
  function check(node, reporter) {
    const known = settings();
    if (is(node, 'bpmn:Process')) {
      const seen = new Set();
      for (const group of extensions(node, 'sertel:Properties')) {
        for (const property of group.property || []) {
          if (!property.name) {
            reporter.report(node.id, `${label(node)}: properti tanpa nama`);
            continue;
          }
          if (seen.has(property.name)) {
            reporter.report(node.id, `${label(node)}: properti '${property.name}' ganda`);
          }
          seen.add(property.name);
          const setting = known && known.get(property.name);
          const wantsDuration = setting ? setting.kind === 'duration' : /^sla_/.test(property.name);
          if (wantsDuration && !isDuration(property.value)) {
            reporter.report(node.id, `${label(node)}: properti '${property.name}' bukan durasi ISO 8601 ('${property.value || ''}', mis. P2D atau PT4H)`);
          }
        }
      }
      return;
    }
    if (!is(node, 'bpmn:TimerEventDefinition')) {
      return;
    }
    const event = node.$parent;
    const expression = node.timeDuration;
    if (!expression) {
      return;
    }
    const body = (expression.body || '').trim();
    const literal = /^(['"])(.*)\1$/.exec(body);
    const call = /^setting\(\s*(['"])([^'"]+)\1\s*\)$/.exec(body);
    if (literal && !isDuration(literal[2])) {
      reporter.report(event.id, `timer ${label(event)}: durasi '${literal[2]}' bukan durasi ISO 8601`);
    } else if (call && known) {
      const name = call[2];
      if (!known.has(name) && !properties(processOf(event)).has(name)) {
        reporter.report(event.id, `timer ${label(event)}: pengaturan '${name}' tidak dikenal`);
      }
    } else if (!literal && !call && isDuration(body)) {
      reporter.report(event.id, `timer ${label(event)}: durasi harus ditulis sebagai teks ('${body}') atau setting('nama')`);
    }
  }
  return { check };
};
