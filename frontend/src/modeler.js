// Browser bundle of the process owner's modeler (built by scripts/build-frontend.sh into
// engine/web/static/vendor/modeler.js, global `SertelBpmn`). The page scripts in
// engine/web/static/js/modeler*.js use it; nothing here talks to the server.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import TokenSimulationModule from 'bpmn-js-token-simulation';
import { diff as bpmnDiff } from 'bpmn-js-differ';
import { BpmnModdle } from 'bpmn-moddle';

import sertelModdle from './sertel-moddle.json';
import spiffworkflowModdle from './spiffworkflow-moddle.json';
import SertelPropertiesProvider from './properties-provider.jsx';
import { lintConfig, setCatalogue } from './lint.js';
import { getCatalogue } from './bpmnlint-plugin-sertel/catalogue.js';

import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import 'bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css';
import 'bpmn-js-token-simulation/assets/css/bpmn-js-token-simulation.css';

const moddleExtensions = { sertel: sertelModdle, spiffworkflow: spiffworkflowModdle };

const SertelPropertiesModule = {
  __init__: [ 'sertelPropertiesProvider' ],
  sertelPropertiesProvider: [ 'type', SertelPropertiesProvider ]
};

/**
 * The modeler: bpmn-js with the properties panel (+ Sertel groups), live bpmnlint (recommended + Sertel
 * plugin) and token simulation.
 *
 * @param {{ container: Element|string, propertiesPanel: Element|string }} options
 */
export function createModeler(options) {
  return new BpmnModeler({
    container: options.container,
    propertiesPanel: { parent: options.propertiesPanel },
    linting: { bpmnlint: lintConfig, active: true },
    moddleExtensions,
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      SertelPropertiesModule,
      lintModule,
      TokenSimulationModule
    ]
  });
}

/** A read-only viewer (the version page's diff) that knows the Sertel and SpiffWorkflow elements. */
export function createViewer(options) {
  return new NavigatedViewer({ container: options.container, moddleExtensions });
}

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
  for (const [ id, change ] of Object.entries(result._changed)) {
    const attrs = {};
    for (const [ attr, values ] of Object.entries(change.attrs || {})) {
      attrs[attr] = { oldValue: stringify(values.oldValue), newValue: stringify(values.newValue) };
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

export { setCatalogue, getCatalogue };
