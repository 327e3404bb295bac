// Properties panel groups for what Sertel needs (spec9.md vocabulary), so a process owner never types XML:
// user task -> form (from the catalogue), output name and form inputs; service task -> operator (from the
// registry), its declared parameters and the result variable; sequence flow -> condition; lane -> role;
// timer -> duration from a setting; process -> start form and per-process properties (SLA values).
import {
  Group,
  ListGroup,
  SelectEntry,
  TextFieldEntry,
  TextAreaEntry,
  isSelectEntryEdited,
  isTextFieldEntryEdited,
  isTextAreaEntryEdited
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { is, getBusinessObject } from 'bpmn-js/lib/util/ModelUtil';

import { getCatalogue } from './bpmnlint-plugin-sertel/catalogue.js';

// ---------------------------------------------------------------------------------------------------
// moddle helpers (every change goes through modeling, so it is undoable and re-lints)

function extensionOf(bo, type) {
  const values = (bo.extensionElements && bo.extensionElements.get('values')) || [];
  return values.find((value) => is(value, type)) || null;
}

// Add `type` (with attrs) to bo's extension elements, creating them when missing; answer the new object.
function addExtension(injector, element, bo, type, attrs) {
  const bpmnFactory = injector.get('bpmnFactory');
  const modeling = injector.get('modeling');
  let extensionElements = bo.extensionElements;
  if (!extensionElements) {
    extensionElements = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
    extensionElements.$parent = bo;
    modeling.updateModdleProperties(element, bo, { extensionElements });
  }
  const created = bpmnFactory.create(type, attrs);
  created.$parent = extensionElements;
  modeling.updateModdleProperties(element, extensionElements, {
    values: [ ...extensionElements.get('values'), created ]
  });
  return created;
}

function removeExtension(injector, element, bo, extension) {
  const modeling = injector.get('modeling');
  const extensionElements = bo.extensionElements;
  if (!extensionElements) {
    return;
  }
  modeling.updateModdleProperties(element, extensionElements, {
    values: extensionElements.get('values').filter((value) => value !== extension)
  });
}

// The process a participant or the root process stands for.
function processOf(element) {
  const bo = getBusinessObject(element);
  if (is(bo, 'bpmn:Participant')) {
    return bo.processRef || null;
  }
  return is(bo, 'bpmn:Process') ? bo : null;
}

function parseOperatorId(id) {
  const match = /^(.*?)(?:@(\d+))?$/.exec(id || '');
  return { name: match[1], version: match[2] ? Number(match[2]) : null };
}

function operatorEntry(id) {
  const catalogue = getCatalogue();
  if (!catalogue || !id) {
    return null;
  }
  const { name, version } = parseOperatorId(id);
  const entries = (catalogue.operators || []).filter((op) => op.name === name);
  if (!entries.length) {
    return null;
  }
  if (version != null) {
    return entries.find((op) => op.version === version) || entries[0];
  }
  return entries.reduce((a, b) => ((b.version || 0) > (a.version || 0) ? b : a));
}

const NONE = '';

// ---------------------------------------------------------------------------------------------------
// user task: form

function FormSelect(props) {
  const { element, id, bo } = props;
  const injector = useService('injector');
  const isProcess = is(bo, 'bpmn:Process');
  const getValue = () => {
    const form = extensionOf(bo, 'sertel:Form');
    return (form && form.name) || NONE;
  };
  const setValue = (value) => {
    const form = extensionOf(bo, 'sertel:Form');
    if (!value) {
      if (form) {
        removeExtension(injector, element, bo, form);
      }
    } else if (form) {
      injector.get('modeling').updateModdleProperties(element, form, { name: value });
    } else {
      addExtension(injector, element, bo, 'sertel:Form', { name: value });
    }
  };
  const getOptions = () => {
    const catalogue = getCatalogue();
    const forms = (catalogue && catalogue.forms) || [];
    const options = [ { value: NONE, label: isProcess ? '(tanpa formulir awal)' : '(pilih formulir)' } ];
    for (const form of forms) {
      const fields = (form.fields || []).map((f) => f.name).join(', ');
      options.push({ value: form.name, label: form.title ? `${form.title} (${form.name})` : form.name, title: fields });
    }
    const current = getValue();
    if (current && !forms.some((form) => form.name === current)) {
      options.push({ value: current, label: `${current} (tidak ada di katalog)` });
    }
    return options;
  };
  return <SelectEntry
    id={ id }
    element={ element }
    label={ isProcess ? 'Formulir awal' : 'Formulir' }
    description={ isProcess ? 'Formulir yang diisi saat proses dimulai.' : 'Dari katalog formulir; satu formulir boleh dipakai banyak tugas.' }
    getValue={ getValue }
    setValue={ setValue }
    getOptions={ getOptions } />;
}

function FormOutput(props) {
  const { element, id, bo } = props;
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  const form = extensionOf(bo, 'sertel:Form');
  if (!form) {
    return null;
  }
  return <TextFieldEntry
    id={ id }
    element={ element }
    label="Disimpan sebagai (output)"
    description={ `Nama data hasil formulir; kosong = id tugas (${bo.id}).` }
    debounce={ debounce }
    getValue={ () => form.output || '' }
    setValue={ (value) => modeling.updateModdleProperties(element, form, { output: value || undefined }) } />;
}

function InputName(props) {
  const { element, id, input } = props;
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  return <TextFieldEntry id={ id } element={ element } label="Nama (inputs.&lt;nama&gt; di templat)" debounce={ debounce }
    getValue={ () => input.name || '' }
    setValue={ (value) => modeling.updateModdleProperties(element, input, { name: value }) } />;
}

function InputValue(props) {
  const { element, id, input } = props;
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  return <TextFieldEntry id={ id } element={ element } label="Ekspresi atas data kasus" debounce={ debounce }
    getValue={ () => input.value || '' }
    setValue={ (value) => modeling.updateModdleProperties(element, input, { value }) } />;
}

function formInputsGroup(element, bo, injector) {
  const form = extensionOf(bo, 'sertel:Form');
  if (!form || is(bo, 'bpmn:Process')) {
    return null;
  }
  const modeling = injector.get('modeling');
  const bpmnFactory = injector.get('bpmnFactory');
  const inputs = form.get('input');
  const items = inputs.map((input, index) => ({
    id: `sertel-input-${index}`,
    label: input.name || '(tanpa nama)',
    entries: [
      { id: `sertel-input-${index}-name`, component: InputName, input, isEdited: isTextFieldEntryEdited },
      { id: `sertel-input-${index}-value`, component: InputValue, input, isEdited: isTextFieldEntryEdited }
    ],
    autoFocusEntry: `sertel-input-${index}-name`,
    remove: () => modeling.updateModdleProperties(element, form, { input: inputs.filter((i) => i !== input) })
  }));
  const add = (event) => {
    event.stopPropagation();
    const input = bpmnFactory.create('sertel:Input', { name: `masukan_${inputs.length + 1}`, value: '' });
    input.$parent = form;
    modeling.updateModdleProperties(element, form, { input: [ ...inputs, input ] });
  };
  return { id: 'sertel-form-inputs', label: 'Masukan formulir', component: ListGroup, items, add, element };
}

// ---------------------------------------------------------------------------------------------------
// service task: operator, parameters, result variable

function OperatorSelect(props) {
  const { element, id, bo } = props;
  const injector = useService('injector');
  const getValue = () => {
    const op = extensionOf(bo, 'spiffworkflow:ServiceTaskOperator');
    return (op && op.id) || NONE;
  };
  const setValue = (value) => {
    const modeling = injector.get('modeling');
    const bpmnFactory = injector.get('bpmnFactory');
    let op = extensionOf(bo, 'spiffworkflow:ServiceTaskOperator');
    if (!value) {
      if (op) {
        removeExtension(injector, element, bo, op);
      }
      return;
    }
    if (op) {
      modeling.updateModdleProperties(element, op, { id: value });
    } else {
      op = addExtension(injector, element, bo, 'spiffworkflow:ServiceTaskOperator', { id: value });
    }
    // offer every declared parameter at once; required ones the owner still has to fill in
    const entry = operatorEntry(value);
    if (entry && !op.parameters) {
      const parameters = bpmnFactory.create('spiffworkflow:Parameters', { parameter: [] });
      parameters.$parent = op;
      modeling.updateModdleProperties(element, op, { parameters });
    }
  };
  const getOptions = () => {
    const catalogue = getCatalogue();
    const options = [ { value: NONE, label: '(pilih operator)' } ];
    for (const op of (catalogue && catalogue.operators) || []) {
      if (options.some((o) => o.value === op.name)) {
        continue;
      }
      options.push({ value: op.name, label: `${op.name} (versi terbaru)` });
      const versions = op.versions && op.versions.length ? op.versions : [ op.version ];
      for (const version of versions.filter((v) => v != null)) {
        options.push({ value: `${op.name}@${version}`, label: `${op.name} versi ${version}` });
      }
    }
    const current = getValue();
    if (current && !options.some((o) => o.value === current)) {
      options.push({ value: current, label: `${current} (tidak terdaftar)` });
    }
    return options;
  };
  return <SelectEntry id={ id } element={ element } label="Operator"
    description={ (operatorEntry(getValue()) || {}).doc || 'Operator terdaftar yang menjalankan tugas layanan ini.' }
    getValue={ getValue } setValue={ setValue } getOptions={ getOptions } />;
}

function ParameterValue(props) {
  const { element, id, bo, param } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const find = () => {
    const op = extensionOf(bo, 'spiffworkflow:ServiceTaskOperator');
    const list = (op && op.parameters && op.parameters.get('parameter')) || [];
    return { op, list, current: list.find((p) => p.id === param.name) || null };
  };
  const setValue = (value) => {
    const modeling = injector.get('modeling');
    const bpmnFactory = injector.get('bpmnFactory');
    const { op, list, current } = find();
    if (!op) {
      return;
    }
    if (!value) {
      if (current && op.parameters) {
        modeling.updateModdleProperties(element, op.parameters, { parameter: list.filter((p) => p !== current) });
      }
      return;
    }
    if (current) {
      modeling.updateModdleProperties(element, current, { value, type: current.type || param.type });
      return;
    }
    let parameters = op.parameters;
    if (!parameters) {
      parameters = bpmnFactory.create('spiffworkflow:Parameters', { parameter: [] });
      parameters.$parent = op;
      modeling.updateModdleProperties(element, op, { parameters });
    }
    const created = bpmnFactory.create('spiffworkflow:Parameter', { id: param.name, type: param.type || 'any', value });
    created.$parent = parameters;
    modeling.updateModdleProperties(element, parameters, { parameter: [ ...parameters.get('parameter'), created ] });
  };
  const required = param.required !== false;
  const label = `${param.name} (${param.type || 'any'}${required ? ', wajib' : ''})${param.declared === false ? ' — tidak dikenal operator' : ''}`;
  return <TextFieldEntry id={ id } element={ element } label={ label } debounce={ debounce }
    description={ param.doc ? `${param.doc} Nilai = ekspresi atas data kasus, mis. registration_form atau 'teks'.` : 'Ekspresi atas data kasus.' }
    getValue={ () => { const { current } = find(); return (current && current.value) || ''; } }
    setValue={ setValue } />;
}

function ResultVariable(props) {
  const { element, id, bo } = props;
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  const op = extensionOf(bo, 'spiffworkflow:ServiceTaskOperator');
  if (!op) {
    return null;
  }
  const results = (operatorEntry(op.id) || {}).results || [];
  return <TextFieldEntry id={ id } element={ element } label="Variabel hasil (resultVariable)" debounce={ debounce }
    description={ results.length ? `Hasil berisi: ${results.join(', ')}.` : 'Nama data tempat hasil operator disimpan.' }
    getValue={ () => op.resultVariable || '' }
    setValue={ (value) => modeling.updateModdleProperties(element, op, { resultVariable: value || undefined }) } />;
}

function serviceEntries(element, bo) {
  const entries = [ { id: 'sertel-operator', component: OperatorSelect, bo, isEdited: isSelectEntryEdited } ];
  const op = extensionOf(bo, 'spiffworkflow:ServiceTaskOperator');
  if (op) {
    const entry = operatorEntry(op.id);
    const declared = ((entry && entry.params) || []).map((p) => ({ ...p, declared: true }));
    const given = (op.parameters && op.parameters.get('parameter')) || [];
    for (const p of given) {
      if (!declared.some((d) => d.name === p.id)) {
        declared.push({ name: p.id, type: p.type, required: false, declared: entry ? false : undefined });
      }
    }
    for (const param of declared) {
      entries.push({ id: `sertel-param-${param.name}`, component: ParameterValue, bo, param, isEdited: isTextFieldEntryEdited });
    }
    entries.push({ id: 'sertel-result', component: ResultVariable, bo, isEdited: isTextFieldEntryEdited });
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------------
// sequence flow: condition

function Condition(props) {
  const { element, id, bo } = props;
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const debounce = useService('debounceInput');
  const setValue = (value) => {
    if (!value) {
      modeling.updateProperties(element, { conditionExpression: undefined });
      return;
    }
    const expression = bo.conditionExpression;
    if (expression) {
      modeling.updateModdleProperties(element, expression, { body: value });
    } else {
      const created = bpmnFactory.create('bpmn:FormalExpression', { body: value });
      modeling.updateProperties(element, { conditionExpression: created });
    }
  };
  return <TextAreaEntry id={ id } element={ element } label="Kondisi (ekspresi)" debounce={ debounce }
    description="Ekspresi atas data kasus, mis. recommendation['decision'] == 'approve'. Kosong = alur tanpa kondisi."
    getValue={ () => (bo.conditionExpression && bo.conditionExpression.body) || '' }
    setValue={ setValue } />;
}

// ---------------------------------------------------------------------------------------------------
// lane: role

function LaneRole(props) {
  const { element, id, bo } = props;
  const modeling = useService('modeling');
  const roles = (getCatalogue() || {}).roles || [];
  const getOptions = () => {
    const options = roles.map((r) => ({ value: r.lane, label: `${r.lane} → peran ${r.role}` }));
    if (!roles.some((r) => r.lane === bo.name)) {
      options.unshift({ value: bo.name || NONE, label: `${bo.name || '(tanpa nama)'} → tidak dipetakan ke peran` });
    }
    return options;
  };
  return <SelectEntry id={ id } element={ element } label="Lajur dan peran"
    description="Nama lajur menentukan peran yang mengerjakan tugas di dalamnya."
    getValue={ () => bo.name || NONE }
    setValue={ (value) => modeling.updateProperties(element, { name: value }) }
    getOptions={ getOptions } />;
}

// ---------------------------------------------------------------------------------------------------
// timer: duration from a setting

function timerDefinition(bo) {
  return (bo.eventDefinitions || []).find((d) => is(d, 'bpmn:TimerEventDefinition')) || null;
}

function TimerSetting(props) {
  const { element, id, bo } = props;
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const timer = timerDefinition(bo);
  const settings = ((getCatalogue() || {}).settings || []).filter((s) => s.kind === 'duration');
  const current = () => {
    const body = (timer.timeDuration && timer.timeDuration.body) || '';
    const match = /^setting\(\s*['"]([^'"]+)['"]\s*\)$/.exec(body.trim());
    return match ? match[1] : NONE;
  };
  const setValue = (value) => {
    if (!value) {
      return;
    }
    const body = `setting('${value}')`;
    if (timer.timeDuration) {
      modeling.updateModdleProperties(element, timer.timeDuration, { body });
    } else {
      const expression = bpmnFactory.create('bpmn:FormalExpression', { body });
      modeling.updateModdleProperties(element, timer, { timeDuration: expression, timeDate: undefined, timeCycle: undefined });
    }
  };
  const getOptions = () => {
    const options = [ { value: NONE, label: '(ekspresi sendiri, lihat grup Timer)' } ];
    for (const s of settings) {
      options.push({ value: s.name, label: `${s.name} (bawaan ${s.default})` });
    }
    const value = current();
    if (value && !settings.some((s) => s.name === value)) {
      options.push({ value, label: `${value} (tidak dikenal)` });
    }
    return options;
  };
  return <SelectEntry id={ id } element={ element } label="Durasi dari pengaturan"
    description="Nilainya diambil dari properti proses (grup Properti proses) atau bawaan pengaturan."
    getValue={ current } setValue={ setValue } getOptions={ getOptions } />;
}

// ---------------------------------------------------------------------------------------------------
// process: properties (SLA values)

function ProcessProperty(props) {
  const { element, id, process, setting } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const find = () => {
    const group = extensionOf(process, 'sertel:Properties');
    const list = (group && group.get('property')) || [];
    return { group, list, current: list.find((p) => p.name === setting.name) || null };
  };
  const setValue = (value) => {
    const modeling = injector.get('modeling');
    const bpmnFactory = injector.get('bpmnFactory');
    let { group, list, current } = find();
    if (!value) {
      if (current) {
        modeling.updateModdleProperties(element, group, { property: list.filter((p) => p !== current) });
      }
      return;
    }
    if (current) {
      modeling.updateModdleProperties(element, current, { value });
      return;
    }
    if (!group) {
      group = addExtension(injector, element, process, 'sertel:Properties', { property: [] });
    }
    const created = bpmnFactory.create('sertel:Property', { name: setting.name, value });
    created.$parent = group;
    modeling.updateModdleProperties(element, group, { property: [ ...group.get('property'), created ] });
  };
  const validate = (value) => {
    if (value && setting.kind === 'duration' && !/^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(?:\.\d+)?S)?)?$/.test(value)) {
      return 'Bukan durasi ISO 8601 (mis. P2D, PT4H).';
    }
  };
  return <TextFieldEntry id={ id } element={ element } label={ setting.name } debounce={ debounce }
    description={ `Kosong = bawaan ${setting.default == null ? '-' : setting.default}${setting.kind ? ` (${setting.kind})` : ''}.` }
    validate={ validate }
    getValue={ () => { const { current } = find(); return (current && current.value) || ''; } }
    setValue={ setValue } />;
}

function processGroups(element, process) {
  const groups = [ {
    id: 'sertel-start-form',
    label: 'Formulir awal',
    component: Group,
    entries: [ { id: 'sertel-start-form-name', component: FormSelect, bo: process, isEdited: isSelectEntryEdited } ]
  } ];
  const settings = [ ...((getCatalogue() || {}).settings || []) ];
  const group = extensionOf(process, 'sertel:Properties');
  for (const property of (group && group.get('property')) || []) {
    if (!settings.some((s) => s.name === property.name)) {
      settings.push({ name: property.name, default: null, kind: /^sla_/.test(property.name) ? 'duration' : '' });
    }
  }
  groups.push({
    id: 'sertel-process-properties',
    label: 'Properti proses (SLA)',
    component: Group,
    entries: settings.map((setting) => ({
      id: `sertel-property-${setting.name}`, component: ProcessProperty, process, setting, isEdited: isTextFieldEntryEdited
    }))
  });
  return groups;
}

// ---------------------------------------------------------------------------------------------------

export default function SertelPropertiesProvider(propertiesPanel, injector) {
  this.getGroups = function(element) {
    return function(groups) {
      const bo = getBusinessObject(element);
      const add = (group) => {
        if (group) {
          // right after "Umum" so the owner sees it first
          groups.splice(Math.min(1, groups.length), 0, group);
        }
      };
      if (is(bo, 'bpmn:UserTask')) {
        add(formInputsGroup(element, bo, injector));
        add({
          id: 'sertel-form',
          label: 'Formulir',
          component: Group,
          entries: [
            { id: 'sertel-form-name', component: FormSelect, bo, isEdited: isSelectEntryEdited },
            { id: 'sertel-form-output', component: FormOutput, bo, isEdited: isTextFieldEntryEdited }
          ]
        });
      } else if (is(bo, 'bpmn:ServiceTask')) {
        add({ id: 'sertel-operator', label: 'Operator dan parameter', component: Group, entries: serviceEntries(element, bo) });
      } else if (is(bo, 'bpmn:SequenceFlow')) {
        const source = bo.sourceRef;
        if (source && !is(source, 'bpmn:ParallelGateway') && !is(source, 'bpmn:EventBasedGateway')) {
          add({ id: 'sertel-condition', label: 'Kondisi', component: Group,
            entries: [ { id: 'sertel-condition-body', component: Condition, bo, isEdited: isTextAreaEntryEdited } ] });
        }
      } else if (is(bo, 'bpmn:Lane')) {
        add({ id: 'sertel-lane', label: 'Peran', component: Group,
          entries: [ { id: 'sertel-lane-role', component: LaneRole, bo, isEdited: isSelectEntryEdited } ] });
      }
      if (is(bo, 'bpmn:Event') && timerDefinition(bo)) {
        add({ id: 'sertel-timer', label: 'Durasi timer', component: Group,
          entries: [ { id: 'sertel-timer-setting', component: TimerSetting, bo, isEdited: isSelectEntryEdited } ] });
      }
      const process = processOf(element);
      if (process) {
        for (const group of processGroups(element, process).reverse()) {
          add(group);
        }
      }
      return groups;
    };
  };

  // after getGroups exists: the panel checks for it on registration
  propertiesPanel.registerProvider(400, this);
}

SertelPropertiesProvider.$inject = [ 'propertiesPanel', 'injector' ];
