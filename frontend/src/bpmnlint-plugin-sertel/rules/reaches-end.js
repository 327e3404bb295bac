// Every path reaches an end event: from every flow node some path leads to an end event.
const { is, label, flowGraph, exempt, isContainer } = require('../helpers');

module.exports = function() {
  function check(node, reporter) {
    if (!isContainer(node) || (is(node, 'bpmn:Process') && !(node.flowElements || []).length)) {
      return;
    }
    const { nodes, prev } = flowGraph(node);
    const reached = new Set();
    const todo = nodes.filter((n) => is(n, 'bpmn:EndEvent'));
    if (!todo.length && nodes.length) {
      return; // end-event-required (recommended) says so once
    }
    while (todo.length) {
      const current = todo.pop();
      if (reached.has(current)) {
        continue;
      }
      reached.add(current);
      todo.push(...prev.get(current));
    }
    for (const flowNode of nodes) {
      if (!reached.has(flowNode) && !exempt(flowNode)) {
        reporter.report(flowNode.id, `${label(flowNode)}: tidak ada jalur ke peristiwa akhir`);
      }
    }
  }
  return { check };
};
