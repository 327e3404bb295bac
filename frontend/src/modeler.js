// Browser bundle of the process owner's modeler (built by scripts/build-frontend.sh into
// engine/web/static/vendor/modeler.js, global `SertelBpmn`). The page scripts in
// engine/web/static/js/modeler*.js use it; nothing here talks to the server.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import TokenSimulationModule from 'bpmn-js-token-simulation';

import sertelModdle from './sertel-moddle.json';
import spiffworkflowModdle from './spiffworkflow-moddle.json';
import SertelPropertiesProvider from './properties-provider.jsx';
import { lintConfig, setCatalogue } from './lint.js';
import { getCatalogue } from './bpmnlint-plugin-sertel/catalogue.js';
import { diffVersions } from './diff.js';

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

export { setCatalogue, getCatalogue, diffVersions };
