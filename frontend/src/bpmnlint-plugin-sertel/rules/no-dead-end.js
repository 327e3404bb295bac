// No dead ends: every flow node but an end event has an outgoing sequence flow (or an attached boundary
// event / link that carries the token on).
const { is, label, flowGraph, exempt, isContainer } = require('../helpers');

module.exports = function() {
  function check(node, reporter) {
    if (!isContainer(node)) {
      return;
    }
    const { nodes, next } = flowGraph(node);
    for (const flowNode of nodes) {
      if (is(flowNode, 'bpmn:EndEvent') || exempt(flowNode)) {
        continue;
      }
      if (!next.get(flowNode).length) {
        reporter.report(flowNode.id, `${label(flowNode)}: buntu, tidak ada alur keluar`);
      }
    }
  }
  return { check };
};
