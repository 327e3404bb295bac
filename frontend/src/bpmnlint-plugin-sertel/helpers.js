// Shared helpers of the Sertel bpmnlint rules.

function is(node, type) {
  return node && typeof node.$instanceOf === 'function' && node.$instanceOf(type);
}

// `'Rekomendasi kedua' (recommendation_second)` or `(id)`: messages name the element.
function label(node) {
  const name = (node.name || '').replace(/\s+/g, ' ').trim();
  return name ? `'${name}' (${node.id})` : `'${node.id}'`;
}

function extensions(node, type) {
  const values = (node.extensionElements && node.extensionElements.values) || [];
  return values.filter((value) => is(value, type));
}

// Parse `name` or `name@2` into { name, version }.
function parseOperatorId(id) {
  const match = /^(.*?)(?:@(\d+))?$/.exec(id || '');
  return { name: match[1], version: match[2] ? Number(match[2]) : null };
}

const DURATION = /^P(?!$)(\d+(?:[.,]\d+)?Y)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?W)?(\d+(?:[.,]\d+)?D)?(T(?=\d)(\d+(?:[.,]\d+)?H)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?S)?)?$/;

function isDuration(text) {
  return DURATION.test((text || '').trim());
}

// Flow nodes and sequence flows directly inside a process or sub-process.
function flowGraph(container) {
  const elements = container.flowElements || [];
  const nodes = elements.filter((el) => is(el, 'bpmn:FlowNode'));
  const flows = elements.filter((el) => is(el, 'bpmn:SequenceFlow'));
  const next = new Map(nodes.map((node) => [ node, [] ]));
  const prev = new Map(nodes.map((node) => [ node, [] ]));
  const link = (a, b) => {
    if (next.has(a) && next.has(b)) {
      next.get(a).push(b);
      prev.get(b).push(a);
    }
  };
  for (const flow of flows) {
    link(flow.sourceRef, flow.targetRef);
  }
  for (const node of nodes) {
    // a token in an activity may leave by an attached boundary event
    if (is(node, 'bpmn:BoundaryEvent') && node.attachedToRef) {
      link(node.attachedToRef, node);
    }
  }
  // link events: a throw continues at the catch of the same name
  const linkName = (node) => {
    const def = (node.eventDefinitions || []).find((d) => is(d, 'bpmn:LinkEventDefinition'));
    return def ? def.name || node.name : null;
  };
  const catches = nodes.filter((n) => is(n, 'bpmn:IntermediateCatchEvent') && linkName(n));
  for (const thrower of nodes.filter((n) => is(n, 'bpmn:IntermediateThrowEvent') && linkName(n))) {
    for (const catcher of catches.filter((c) => linkName(c) === linkName(thrower))) {
      link(thrower, catcher);
    }
  }
  return { nodes, next, prev };
}

// Nodes a token never needs to leave by a flow: compensation handlers, event sub-processes' insides
// are separate containers, link throws (they continue at their catch).
function exempt(node) {
  if (node.isForCompensation) {
    return true;
  }
  if (is(node, 'bpmn:SubProcess') && node.triggeredByEvent) {
    return true;
  }
  const defs = node.eventDefinitions || [];
  if (is(node, 'bpmn:BoundaryEvent') && defs.some((d) => is(d, 'bpmn:CompensateEventDefinition'))) {
    return true;
  }
  return false;
}

function isContainer(node) {
  return is(node, 'bpmn:Process') || is(node, 'bpmn:SubProcess');
}

module.exports = { is, label, extensions, parseOperatorId, isDuration, flowGraph, exempt, isContainer };
