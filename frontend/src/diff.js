// The visual diff's data: bpmn-js-differ over two versions read with the Sertel and SpiffWorkflow moddle
// extensions, plus what the differ does not see (extension elements, conditions). No DOM: node can run it.
import { diff as bpmnDiff } from 'bpmn-js-differ';
import { BpmnModdle } from 'bpmn-moddle';

import sertelModdle from './sertel-moddle.json';
import spiffworkflowModdle from './spiffworkflow-moddle.json';

const moddleExtensions = { sertel: sertelModdle, spiffworkflow: spiffworkflowModdle };

async function definitionsOf(xml) {
  const moddle = new BpmnModdle(moddleExtensions);
  const { rootElement } = await moddle.fromXML(xml);
  return rootElement;
}

// Extension elements (sertel:form, operators, properties) as plain text, so a changed form, parameter or
// SLA value shows as a changed property of its element.
function extensionSummary(element) {
  const values = (element && element.extensionElements && element.extensionElements.values) || [];
  const describe = (value) => {
    const attrs = Object.entries(value)
      .filter(([ key, v ]) => !key.startsWith('$') && (typeof v === 'string' || typeof v === 'number'))
      .map(([ key, v ]) => `${key}=${v}`);
    const children = Object.entries(value)
      .filter(([ key, v ]) => !key.startsWith('$') && v && typeof v === 'object')
      .flatMap(([ , v ]) => (Array.isArray(v) ? v : [ v ]))
      .filter((child) => child && child.$type)
      .map(describe);
    return `${value.$type.split(':')[1]}(${attrs.join(', ')})${children.length ? `[${children.join('; ')}]` : ''}`;
  };
  return values.map(describe).join('; ');
}

function allElements(definitions) {
  const found = new Map();
  const walk = (element) => {
    if (!element || typeof element !== 'object' || !element.$type) {
      return;
    }
    if (element.id && !found.has(element.id)) {
      found.set(element.id, element);
    }
    for (const [ key, value ] of Object.entries(element)) {
      if (key.startsWith('$') || key === 'di') {
        continue;
      }
      if (Array.isArray(value)) {
        value.forEach((v) => (v && v.$parent === element ? walk(v) : null));
      } else if (value && value.$type && value.$parent === element) {
        walk(value);
      }
    }
  };
  walk(definitions);
  return found;
}

/**
 * Diff two versions: bpmn-js-differ's added / removed / changed / layoutChanged, plus the changes of
 * Sertel extension elements (form, operator and parameters, process properties) and of conditions.
 * Answers { added, removed, changed, moved } with, for changed, { id, type, name, attrs: {attr: {oldValue, newValue}} }.
 */
export async function diffVersions(oldXml, newXml) {
  const [ a, b ] = await Promise.all([ definitionsOf(oldXml), definitionsOf(newXml) ]);
  const result = bpmnDiff(a, b);
  const describe = (element) => ({ id: element.id, type: element.$type, name: element.name || '' });
  const changed = new Map();
  for (const change of Object.values(result._changed)) {
    const id = change.model.id;
    const attrs = {};
    for (const [ attr, values ] of Object.entries(change.attrs || {})) {
      // bpmn-js-differ 3.2 hands jsondiffpatch's [old, new] to ChangeHandler#changed(model, property,
      // newValue, oldValue), so its "newValue" is the old one (tests/browser/test_modeler.py holds us to it)
      attrs[attr] = { oldValue: stringify(values.newValue), newValue: stringify(values.oldValue) };
    }
    changed.set(id, { ...describe(change.model), attrs });
  }
  const before = allElements(a);
  const after = allElements(b);
  for (const [ id, element ] of after) {
    const old = before.get(id);
    if (!old) {
      continue;
    }
    const extra = {};
    const oldExt = extensionSummary(old);
    const newExt = extensionSummary(element);
    if (oldExt !== newExt) {
      extra.extensionElements = { oldValue: oldExt, newValue: newExt };
    }
    const oldCondition = old.conditionExpression && old.conditionExpression.body;
    const newCondition = element.conditionExpression && element.conditionExpression.body;
    if ((oldCondition || '') !== (newCondition || '')) {
      extra.conditionExpression = { oldValue: oldCondition || '', newValue: newCondition || '' };
    }
    if (Object.keys(extra).length) {
      const entry = changed.get(id) || { ...describe(element), attrs: {} };
      Object.assign(entry.attrs, extra);
      changed.set(id, entry);
    }
  }
  return {
    added: Object.values(result._added).map(describe),
    removed: Object.values(result._removed).map(describe),
    changed: [ ...changed.values() ],
    moved: Object.values(result._layoutChanged).map(describe)
  };
}

function stringify(value) {
  if (value == null) {
    return '';
  }
  if (typeof value === 'object') {
    return value.id || value.body || value.$type || JSON.stringify(value);
  }
  return String(value);
}

