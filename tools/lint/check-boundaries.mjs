// Proves the module boundaries are enforced: lints deliberately violating source (as if it
// lived inside the projects) and fails unless ESLint reports each violation.
//   node tools/lint/check-boundaries.mjs
import { ESLint } from 'eslint';

const cases = [
  { file: 'apps/scheduler/src/probe.ts', code: "import { x } from '../../job-launcher/src/config';\nexport const y = x;\n", why: 'an app importing another app' },
  { file: 'apps/scheduler/src/probe.ts', code: "import { Kafka } from 'kafkajs';\nexport const k = Kafka;\n", why: 'an app importing kafkajs' },
  { file: 'apps/job-launcher/src/probe.ts', code: "import { KubeConfig } from '@kubernetes/client-node';\nexport const k = KubeConfig;\n", why: 'an app importing client-node' },
  { file: 'libs/contracts/src/probe.ts', code: "import { retry } from '@wharf/platform';\nexport const r = retry;\n", why: 'contracts importing an internal lib' },
  { file: 'libs/platform/src/probe.ts', code: "import { eventually } from '@wharf/testing';\nexport const e = eventually;\n", why: 'platform importing the testing lib' },
];
const allowed = { file: 'apps/scheduler/src/probe.ts', code: "import { retry } from '@wharf/platform';\nexport const r = retry;\n" };

const eslint = new ESLint();
let failed = false;
for (const c of cases) {
  const [result] = await eslint.lintText(c.code, { filePath: c.file });
  const hits = result.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries');
  console.log(`${hits.length ? 'ok  ' : 'FAIL'} lint rejects ${c.why}${hits.length ? `: ${hits[0].message.split('\n')[0]}` : ''}`);
  failed ||= hits.length === 0;
}
const [ok] = await eslint.lintText(allowed.code, { filePath: allowed.file });
const falsePositives = ok.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries');
console.log(`${falsePositives.length ? 'FAIL' : 'ok  '} lint accepts an app importing @wharf/platform`);
failed ||= falsePositives.length > 0;
if (failed) {
  console.error('module boundaries are not enforced as documented in eslint.config.mjs');
  process.exit(1);
}
