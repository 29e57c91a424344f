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
  { file: 'libs/launch/src/probe.ts', code: "import { KubeConfig } from '@kubernetes/client-node';\nexport const k = KubeConfig;\n", why: 'the launch lib importing client-node' },
  { file: 'libs/launch/src/probe.ts', code: "import { x } from '../../../apps/job-launcher/src/config';\nexport const y = x;\n", why: 'the launch lib importing an app' },
  { file: 'libs/platform/src/probe.ts', code: "import { renderRun } from '@wharf/launch';\nexport const r = renderRun;\n", why: 'platform importing the launch lib' },
  { file: 'libs/streams/src/probe.ts', code: "import { Kafka } from 'kafkajs';\nexport const k = Kafka;\n", why: 'the streams lib importing kafkajs' },
  { file: 'libs/streams/src/probe.ts', code: "import { KubeConfig } from '@kubernetes/client-node';\nexport const k = KubeConfig;\n", why: 'the streams lib importing client-node' },
  { file: 'libs/streams/src/probe.ts', code: "import { renderRun } from '@wharf/launch';\nexport const r = renderRun;\n", why: 'the streams lib importing the launch lib' },
  { file: 'libs/streams/src/probe.ts', code: "import { x } from '../../../apps/stream-ingest/src/config';\nexport const y = x;\n", why: 'the streams lib importing an app' },
  { file: 'libs/platform/src/probe.ts', code: "import { toStreamDefinition } from '@wharf/streams';\nexport const t = toStreamDefinition;\n", why: 'platform importing the streams lib' },
  { file: 'libs/client/src/probe.ts', code: "import { Kafka } from 'kafkajs';\nexport const k = Kafka;\n", why: 'the client lib importing kafkajs' },
  { file: 'libs/client/src/probe.ts', code: "import { retry } from '@wharf/platform';\nexport const r = retry;\n", why: 'the client lib importing platform' },
];
const allowed = [
  { file: 'apps/scheduler/src/probe.ts', code: "import { retry } from '@wharf/platform';\nexport const r = retry;\n", what: 'an app importing @wharf/platform' },
  { file: 'apps/scheduler/src/probe.ts', code: "import { renderRun } from '@wharf/launch';\nexport const r = renderRun;\n", what: 'an app importing @wharf/launch' },
  { file: 'apps/scheduler/src/probe.ts', code: "import { toStreamDefinition } from '@wharf/streams';\nexport const t = toStreamDefinition;\n", what: 'an app importing @wharf/streams' },
  { file: 'libs/streams/src/probe.ts', code: "import { retry } from '@wharf/platform';\nexport const r = retry;\n", what: 'the streams lib importing @wharf/platform' },
  { file: 'apps/e2e/src/probe.ts', code: "import { createGrpcApi } from '@wharf/client';\nexport const c = createGrpcApi;\n", what: 'the e2e runner importing @wharf/client' },
];

const eslint = new ESLint();
let failed = false;
for (const c of cases) {
  const [result] = await eslint.lintText(c.code, { filePath: c.file });
  const hits = result.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries');
  console.log(`${hits.length ? 'ok  ' : 'FAIL'} lint rejects ${c.why}${hits.length ? `: ${hits[0].message.split('\n')[0]}` : ''}`);
  failed ||= hits.length === 0;
}
for (const a of allowed) {
  const [ok] = await eslint.lintText(a.code, { filePath: a.file });
  const falsePositives = ok.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries');
  console.log(`${falsePositives.length ? 'FAIL' : 'ok  '} lint accepts ${a.what}${falsePositives.length ? `: ${falsePositives[0].message.split('\n')[0]}` : ''}`);
  failed ||= falsePositives.length > 0;
}
if (failed) {
  console.error('module boundaries are not enforced as documented in eslint.config.mjs');
  process.exit(1);
}
