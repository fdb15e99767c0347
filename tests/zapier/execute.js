// Zapier's own runtime (zapier-platform-core) as a long-lived process a Python test drives:
//   node execute.js APP_DIR
// reads one JSON request a line, {"method": "triggers.new_task.operation.perform", "bundle": {...}},
// optionally with "callback_url" (the resume URL Zapier gives a step: z.generateCallbackUrl()),
// and answers each with one JSON line: {"results": ..., "status"} or {"error": {"name", "message"}}
// (status "CALLBACK": the step used its callback URL, so Zapier would pause it).
// Run with NODE_ENV=test (tests/support/zapier_node.py's node_env), so core checks outputs.
'use strict';
const path = require('node:path');
const readline = require('node:readline');
const zapier = require('zapier-platform-core');

const handler = zapier.createAppHandler(require(path.resolve(process.argv[2], 'index.js')));
const execute = async ({ method, bundle, callback_url: callbackUrl }) => {
  try {
    const out = await handler({ command: 'execute', method, bundle, storeKey: 'test', zcacheTestObj: {},
      cursorTestObj: {}, callback_url: callbackUrl });
    return { results: out.results, status: out.status };
  } catch (err) {
    return { error: { name: err.name, message: err.message } };
  }
};

// One request at a time, in order: the test waits for each answer.
const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  queue = queue.then(async () => process.stdout.write(`${JSON.stringify(await execute(JSON.parse(line)))}\n`));
});
