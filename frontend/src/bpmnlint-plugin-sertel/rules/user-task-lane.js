// Every user task sits in a lane, and the lane maps to a role of the catalogue.
const { is, label } = require('../helpers');
const { laneRoles } = require('../catalogue');

function lanesOf(container) {
  const lanes = [];
  const walk = (laneSets) => {
    for (const laneSet of laneSets || []) {
      for (const lane of laneSet.lanes || []) {
        lanes.push(lane);
        if (lane.childLaneSet) {
          walk([ lane.childLaneSet ]);
        }
      }
    }
  };
  walk(container.laneSets || (container.laneSet ? [ container.laneSet ] : []));
  return lanes;
}

module.exports = function() {
  function check(node, reporter) {
    if (!is(node, 'bpmn:UserTask')) {
      return;
    }
    // the innermost lane holding the task (lanes of enclosing processes count for sub-processes)
    let lane = null;
    for (let container = node.$parent; container && !lane; container = container.$parent) {
      const holding = lanesOf(container).filter((l) => (l.flowNodeRef || []).includes(node));
      lane = holding.find((l) => !l.childLaneSet) || holding[0] || null;
      if (is(container, 'bpmn:Process')) {
        break;
      }
    }
    if (!lane) {
      reporter.report(node.id, `tugas ${label(node)}: tidak berada di lajur (lane) mana pun`);
      return;
    }
    const roles = laneRoles();
    if (roles && !roles.has((lane.name || '').trim())) {
      reporter.report(node.id, `tugas ${label(node)}: lajur '${lane.name || lane.id}' tidak dipetakan ke peran`);
    }
  }
  return { check };
};
