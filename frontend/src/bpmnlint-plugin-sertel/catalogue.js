// The catalogue the Sertel rules check against (shape of GET /api/v1/catalogue, spec9.md).
let current = null;

function setCatalogue(catalogue) {
  current = catalogue || null;
}

function getCatalogue() {
  return current;
}

function formNames() {
  return current ? new Set((current.forms || []).map((form) => form.name)) : null;
}

// The catalogue entry of `name` at `version` (null = newest); entries may be one per operator (with
// `versions`) or one per version.
function findOperator(name, version) {
  if (!current) {
    return null;
  }
  const entries = (current.operators || []).filter((op) => op.name === name);
  if (!entries.length) {
    return undefined;
  }
  if (version == null) {
    return entries.reduce((a, b) => ((b.version || 0) > (a.version || 0) ? b : a));
  }
  const exact = entries.find((op) => op.version === version);
  if (exact) {
    return exact;
  }
  const known = entries.some((op) => (op.versions || []).includes(version));
  return known ? entries[0] : undefined;
}

function laneRoles() {
  if (!current) {
    return null;
  }
  return new Map((current.roles || []).map((entry) => [ entry.lane, entry.role ]));
}

function settings() {
  if (!current) {
    return null;
  }
  return new Map((current.settings || []).map((entry) => [ entry.name, entry ]));
}

module.exports = { setCatalogue, getCatalogue, formNames, findOperator, laneRoles, settings };
