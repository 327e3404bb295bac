// bpmnlint plugin "sertel": the checks a process owner gets live in the modeler and CI runs over processes/.
// The catalogue (GET /api/v1/catalogue, or `sertel catalogue --json` in CI) is set with setCatalogue();
// without one, the catalogue checks are skipped and only the structural checks run.
const { setCatalogue, getCatalogue } = require('./catalogue');

const rules = {
  'user-task-form': require('./rules/user-task-form'),
  'user-task-lane': require('./rules/user-task-lane'),
  'service-task-operator': require('./rules/service-task-operator'),
  'reaches-end': require('./rules/reaches-end'),
  'no-dead-end': require('./rules/no-dead-end'),
  'durations': require('./rules/durations')
};

const recommended = {
  rules: Object.fromEntries(Object.keys(rules).map((name) => [ name, 'error' ]))
};

module.exports = {
  rules,
  configs: { recommended },
  setCatalogue,
  getCatalogue
};
