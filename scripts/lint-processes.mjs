#!/usr/bin/env node
// Lint BPMN diagrams with bpmnlint's recommended rules and the Sertel plugin (the same rules the
// modeler runs live). CI runs it over processes/ (tests/engine/test_lint_processes.py).
//
//   node scripts/lint-processes.mjs [--catalogue catalogue.json] [--json] [FILE_OR_DIR ...]
//
// FILE_OR_DIR defaults to processes/ (recursively, *.bpmn). The catalogue is the JSON of
// GET /api/v1/catalogue (or `sertel catalogue --json`); without it the catalogue checks are skipped.
// Prints `file: element_id: message (rule)` per problem (or one JSON object with --json); exit status 1
// when any rule reports an error, 2 on bad usage or unreadable input.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const requireFrontend = createRequire(path.join(ROOT, 'frontend', 'package.json'));

const { Linter } = requireFrontend('bpmnlint');
const NodeResolver = requireFrontend('bpmnlint/lib/resolver/node-resolver');
const { BpmnModdle } = requireFrontend('bpmn-moddle');
const sertelPlugin = requireFrontend('./src/bpmnlint-plugin-sertel');
const sertelModdle = requireFrontend('./src/sertel-moddle.json');
const spiffModdle = requireFrontend('./src/spiffworkflow-moddle.json');
const lintConfig = requireFrontend('./src/lint-config.json');

function usage(message) {
  process.stderr.write(`lint-processes: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const args = { catalogue: null, json: false, targets: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--catalogue') {
      args.catalogue = argv[++i] || usage('--catalogue needs a file');
    } else if (arg === '--json') {
      args.json = true;
    } else if (arg.startsWith('-')) {
      usage(`unknown option ${arg}`);
    } else {
      args.targets.push(arg);
    }
  }
  if (!args.targets.length) {
    args.targets.push(path.join(ROOT, 'processes'));
  }
  return args;
}

function bpmnFiles(target) {
  const stat = fs.statSync(target);
  if (stat.isFile()) {
    return [ target ];
  }
  return fs.readdirSync(target, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const full = path.join(target, entry.name);
      if (entry.isDirectory()) {
        return bpmnFiles(full);
      }
      return entry.name.endsWith('.bpmn') ? [ full ] : [];
    });
}

class Resolver {
  constructor() {
    this.node = new NodeResolver({ require: requireFrontend });
  }

  resolveRule(pkg, ruleName) {
    if (pkg === 'bpmnlint-plugin-sertel') {
      return sertelPlugin.rules[ruleName];
    }
    return this.node.resolveRule(pkg, ruleName);
  }

  resolveConfig(pkg, configName) {
    if (pkg === 'bpmnlint-plugin-sertel') {
      return sertelPlugin.configs[configName];
    }
    return this.node.resolveConfig(pkg, configName);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.catalogue) {
    try {
      sertelPlugin.setCatalogue(JSON.parse(fs.readFileSync(args.catalogue, 'utf8')));
    } catch (err) {
      usage(`cannot read catalogue ${args.catalogue}: ${err.message}`);
    }
  }
  let files;
  try {
    files = args.targets.flatMap(bpmnFiles);
  } catch (err) {
    usage(err.message);
  }
  const moddle = new BpmnModdle({ sertel: sertelModdle, spiffworkflow: spiffModdle });
  const report = {};
  let errors = 0;
  let warnings = 0;
  for (const file of files) {
    const rel = path.relative(process.cwd(), file) || file;
    const { rootElement, warnings: parseWarnings } = await moddle.fromXML(fs.readFileSync(file, 'utf8'));
    // a fresh linter per diagram: some bpmnlint rules keep state in their closure
    const linter = new Linter({ resolver: new Resolver() });
    const results = await linter.lint(rootElement, lintConfig);
    const problems = [];
    for (const warning of parseWarnings) {
      problems.push({ id: '', message: `XML: ${warning.message.split('\n')[0]}`, category: 'error', rule: 'xml' });
    }
    for (const [ rule, reports ] of Object.entries(results)) {
      for (const item of reports) {
        problems.push({ id: item.id || '', message: item.message, category: item.category, rule });
      }
    }
    for (const problem of problems) {
      if (problem.category === 'error') {
        errors++;
      } else {
        warnings++;
      }
    }
    report[rel] = problems;
  }
  if (args.json) {
    process.stdout.write(JSON.stringify({ errors, warnings, files: report }, null, 2) + '\n');
  } else {
    for (const [ file, problems ] of Object.entries(report)) {
      for (const p of problems) {
        process.stdout.write(`${file}: ${p.id}: ${p.message} (${p.rule}, ${p.category})\n`);
      }
    }
    process.stdout.write(`${files.length} diagram, ${errors} galat, ${warnings} peringatan\n`);
  }
  process.exit(errors ? 1 : 0);
}

main().catch((err) => {
  process.stderr.write(`lint-processes: ${err.stack || err}\n`);
  process.exit(2);
});
