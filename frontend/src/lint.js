// bpmnlint in the browser: the recommended rules and the Sertel plugin, bundled (no dynamic require).
// The rule list is bpmnlint:recommended of the installed bpmnlint (regenerate if it changes).
import recommended from "bpmnlint/config/recommended";
import sertel from "./bpmnlint-plugin-sertel/index.js";
import rule0 from "bpmnlint/rules/ad-hoc-sub-process";
import rule1 from "bpmnlint/rules/conditional-flows";
import rule2 from "bpmnlint/rules/end-event-required";
import rule3 from "bpmnlint/rules/event-based-gateway";
import rule4 from "bpmnlint/rules/event-sub-process-typed-start-event";
import rule5 from "bpmnlint/rules/fake-join";
import rule6 from "bpmnlint/rules/global";
import rule7 from "bpmnlint/rules/label-required";
import rule8 from "bpmnlint/rules/link-event";
import rule9 from "bpmnlint/rules/no-bpmndi";
import rule10 from "bpmnlint/rules/no-complex-gateway";
import rule11 from "bpmnlint/rules/no-disconnected";
import rule12 from "bpmnlint/rules/no-duplicate-sequence-flows";
import rule13 from "bpmnlint/rules/no-gateway-join-fork";
import rule14 from "bpmnlint/rules/no-implicit-split";
import rule15 from "bpmnlint/rules/no-implicit-end";
import rule16 from "bpmnlint/rules/no-implicit-start";
import rule17 from "bpmnlint/rules/no-inclusive-gateway";
import rule18 from "bpmnlint/rules/no-overlapping-elements";
import rule19 from "bpmnlint/rules/single-blank-start-event";
import rule20 from "bpmnlint/rules/single-event-definition";
import rule21 from "bpmnlint/rules/start-event-required";
import rule22 from "bpmnlint/rules/sub-process-blank-start-event";
import rule23 from "bpmnlint/rules/superfluous-gateway";
import rule24 from "bpmnlint/rules/superfluous-label";
import rule25 from "bpmnlint/rules/superfluous-termination";

const bpmnlintRules = {
  "ad-hoc-sub-process": rule0,
  "conditional-flows": rule1,
  "end-event-required": rule2,
  "event-based-gateway": rule3,
  "event-sub-process-typed-start-event": rule4,
  "fake-join": rule5,
  "global": rule6,
  "label-required": rule7,
  "link-event": rule8,
  "no-bpmndi": rule9,
  "no-complex-gateway": rule10,
  "no-disconnected": rule11,
  "no-duplicate-sequence-flows": rule12,
  "no-gateway-join-fork": rule13,
  "no-implicit-split": rule14,
  "no-implicit-end": rule15,
  "no-implicit-start": rule16,
  "no-inclusive-gateway": rule17,
  "no-overlapping-elements": rule18,
  "single-blank-start-event": rule19,
  "single-event-definition": rule20,
  "start-event-required": rule21,
  "sub-process-blank-start-event": rule22,
  "superfluous-gateway": rule23,
  "superfluous-label": rule24,
  "superfluous-termination": rule25,
};

class Resolver {
  resolveRule(pkg, ruleName) {
    const rule = pkg === "bpmnlint-plugin-sertel" ? sertel.rules[ruleName] : pkg === "bpmnlint" ? bpmnlintRules[ruleName] : null;
    if (!rule) {
      throw new Error("cannot resolve rule <" + pkg + "/" + ruleName + ">: not bundled");
    }
    return rule;
  }

  resolveConfig(pkg, configName) {
    throw new Error("cannot resolve config <" + configName + "> in <" + pkg + ">: not bundled");
  }
}

// Flat rule map: bpmnlint:recommended then plugin:sertel/recommended (as src/lint-config.json says).
const rules = {};
for (const [ name, value ] of Object.entries(recommended.rules)) {
  rules["bpmnlint/" + name] = value;
}
for (const [ name, value ] of Object.entries(sertel.configs.recommended.rules)) {
  rules["sertel/" + name] = value;
}

export const lintConfig = { config: { rules }, resolver: new Resolver() };
export const setCatalogue = sertel.setCatalogue;
