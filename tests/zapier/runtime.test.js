// Zapier's own runtime (zapier-platform-core) driving the exported app
// against a live hub. Run by tests/connectors/zapier/test_zapier_runtime.py:
//   APP_DIR  the exported package        HUB_URL   the hub
//   OAUTH_CODE, REDIRECT_URI, CLIENT_ID, CLIENT_SECRET   an authorization code to exchange
//   CODE_VERIFIER   its PKCE verifier (Zapier's servers make the pair when the app sets enablePkce)
//   EXPIRED_TOKEN   an access token the hub issued that has expired
//   FINISH_TASK     a command that moves a task to completed|failed: `$FINISH_TASK <id> <status>`
// NODE_ENV=test makes core throw on bad output (e.g. a trigger item without `id`).
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const zapier = require('zapier-platform-core');

const env = process.env;
const app = require(path.resolve(env.APP_DIR, 'index.js'));
const handler = zapier.createAppHandler(app);
const run = async (method, bundle) => {
  const out = await handler({ command: 'execute', method, bundle, storeKey: 'test',
    zcacheTestObj: {}, cursorTestObj: {} });
  return out.results;
};

// A webhook receiver on loopback: /gone answers 410 (Zapier's "this Zap is off").
const received = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    received.push({ path: req.url, headers: req.headers, body: JSON.parse(body) });
    const gone = req.url === '/gone';
    res.writeHead(gone ? 410 : 200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ ok: !gone }));
  });
});
const waitFor = async (predicate, what, timeoutMs = 20000, intervalMs = 25) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
};
const delivery = (p, taskId) => waitFor(() => received.find((d) => d.path === p && d.body.task_id === taskId),
  `a delivery to ${p} for ${taskId}`);
const hooks = async (authData) => {
  const res = await fetch(`${env.HUB_URL}/api/v1/hooks`, { headers: { Authorization: `Bearer ${authData.access_token}` } });
  assert.equal(res.status, 200);
  return res.json();
};
// Every item a trigger or search gives Zapier has a non-empty id, unique in its list.
const assertIds = (items) => {
  assert.ok(Array.isArray(items), JSON.stringify(items));
  for (const item of items) assert.ok(typeof item.id === 'string' && item.id, JSON.stringify(item));
  assert.equal(new Set(items.map((i) => i.id)).size, items.length);
  return items;
};
const finish = (taskId, status) => execFileSync(env.FINISH_TASK_PYTHON, [env.FINISH_TASK_SCRIPT, taskId, status]);

let authData;
let base;
const subscriptions = {};
let task;

test.before(() => new Promise((resolve) => receiver.listen(0, '127.0.0.1', () => {
  base = `http://127.0.0.1:${receiver.address().port}`;
  resolve();
})));
test.after(() => receiver.close());

test('OAuth2: the code is exchanged with its PKCE verifier, then refreshed (rotating the refresh token)', async () => {
  const inputData = { code: env.OAUTH_CODE, redirect_uri: env.REDIRECT_URI, state: 'zapier-state' };
  // Without the verifier the hub refuses the code (the failed attempt does not spend it).
  await assert.rejects(run('authentication.oauth2Config.getAccessToken', { inputData, authData: {}, environment: {} }),
    (err) => err.name === 'ResponseError' && /code_verifier/.test(err.message));
  const first = await run('authentication.oauth2Config.getAccessToken', {
    inputData: { ...inputData, code_verifier: env.CODE_VERIFIER }, authData: {}, environment: {} });
  assert.ok(first.access_token && first.refresh_token, JSON.stringify(first));
  const refreshed = await run('authentication.oauth2Config.refreshAccessToken', { authData: first, inputData: {} });
  assert.ok(refreshed.access_token && refreshed.access_token !== first.access_token);
  assert.ok(refreshed.refresh_token && refreshed.refresh_token !== first.refresh_token);
  authData = refreshed;
});

test('the auth test answers who is connected (the connection label: the username in a personal space)', async () => {
  const me = await run('authentication.test', { authData, inputData: {} });
  assert.equal(me.username, env.USERNAME);
  assert.equal(me.space.kind, 'personal');
  assert.equal(await run('authentication.connectionLabel', { authData, inputData: me }), env.USERNAME);
});

test('dropdowns: codebases (page 0) and an empty later page', async () => {
  const codebases = assertIds(await run('triggers.codebase_choices.operation.perform', { authData, inputData: {}, meta: { page: 0 } }));
  assert.ok(codebases.some((c) => c.id === 'global' && c.name));
  const later = await run('triggers.codebase_choices.operation.perform', { authData, inputData: {}, meta: { page: 5 } });
  assert.deepEqual(later, []);
});

test('subscribe each trigger hook to a receiver URL', async () => {
  for (const key of ['new_task', 'task_completed', 'task_failed']) {
    const data = await run(`triggers.${key}.operation.performSubscribe`,
      { authData, inputData: {}, targetUrl: `${base}/${key}` });
    assert.ok(data.id, JSON.stringify(data));
    subscriptions[key] = data;
  }
  assert.equal((await hooks(authData)).length, 3);
});

test('Create Task, delivered to the receiver and passed through New Task', async () => {
  task = await run('creates.create_task.operation.perform', { authData, inputData: {
    title: 'Review: login page', prompt: 'Review the login page for security issues', agent_type: 'plan',
    codebase_id: '', model: '', priority: 5, external_id: 'octo/app#42', metadata: { channel: 'C024BE91L' } } });
  assert.equal(task.status, 'pending');
  assert.equal(task.external_id, 'octo/app#42');
  assert.deepEqual(task.metadata, { channel: 'C024BE91L' });  // a dict field arrives as one object
  assert.equal(task.agent_type, 'plan');
  assert.equal(task.priority, 5);
  assert.equal(task.codebase_id, 'global');
  const hit = await delivery('/new_task', task.id);
  const items = assertIds(await run('triggers.new_task.operation.perform', { authData, inputData: {}, cleanedRequest: hit.body }));
  assert.equal(items.length, 1);
  assert.deepEqual(Object.keys(items[0]).sort(), ['agent_type', 'codebase_id', 'conversation_id', 'created_at',
    'external_id', 'id', 'metadata', 'prompt', 'status', 'task_id', 'title', 'url']);
  assert.equal(items[0].task_id, task.id);
  assert.equal(items[0].title, 'Review: login page');
  assert.ok(hit.headers['webhook-id'] && hit.headers['webhook-signature']);
});

test('performList gives samples newest first, with the same ids as deliveries', async () => {
  const second = await run('creates.create_task.operation.perform', { authData, inputData: { title: 'Second', prompt: 'p' } });
  const hit = await delivery('/new_task', second.id);
  const samples = assertIds(await run('triggers.new_task.operation.performList', { authData, inputData: {} }));
  assert.deepEqual(samples.slice(0, 2).map((s) => s.task_id), [second.id, task.id]);
  assert.equal(samples[0].id, hit.body.id);
});

test('Task Completed and Task Failed deliveries carry the seed fields', async () => {
  const done = await run('creates.create_task.operation.perform', { authData, inputData: { title: 'Done', prompt: 'p' } });
  finish(done.id, 'completed');
  const completed = assertIds(await run('triggers.task_completed.operation.perform',
    { authData, inputData: {}, cleanedRequest: (await delivery('/task_completed', done.id)).body }));
  assert.deepEqual(Object.keys(completed[0]).sort(), ['agent_type', 'codebase_id', 'completed_at', 'conversation_id',
    'duration_seconds', 'external_id', 'id', 'metadata', 'result', 'task_id', 'title', 'url']);
  assert.equal(typeof completed[0].duration_seconds, 'number');
  const broken = await run('creates.create_task.operation.perform', { authData, inputData: { title: 'Broken', prompt: 'p' } });
  finish(broken.id, 'failed');
  const failed = assertIds(await run('triggers.task_failed.operation.perform',
    { authData, inputData: {}, cleanedRequest: (await delivery('/task_failed', broken.id)).body }));
  assert.deepEqual(Object.keys(failed[0]).sort(), ['agent_type', 'codebase_id', 'conversation_id', 'error',
    'external_id', 'failed_at', 'id', 'metadata', 'prompt', 'retry_count', 'task_id', 'title', 'url']);
  const list = assertIds(await run('triggers.task_completed.operation.performList', { authData, inputData: {} }));
  assertIds(await run('triggers.task_failed.operation.performList', { authData, inputData: {} }));
  assert.equal(list[0].task_id, done.id);
});

test('Find Task by id, by status, and completed in a time range', async () => {
  const found = assertIds(await run('searches.find_task.operation.perform', { authData, inputData: { task_id: task.id } }));
  assert.deepEqual(found.map((t) => t.id), [task.id]);
  assert.equal(found[0].prompt, 'Review the login page for security issues');
  const completed = await run('searches.find_task.operation.perform', { authData, inputData: {
    status: 'completed', completed_after: new Date(Date.now() - 3600e3).toISOString(),
    completed_before: new Date(Date.now() + 60e3).toISOString(), task_id: '', codebase_id: '' } });
  assert.deepEqual(completed.map((t) => t.title), ['Done']);
  const none = await run('searches.find_task.operation.perform', { authData, inputData: {
    status: 'completed', completed_before: new Date(Date.now() - 3600e3).toISOString() } });
  assert.deepEqual(none, []);
});

test('Send Message starts and continues a conversation', async () => {
  const first = await run('creates.send_message.operation.perform',
    { authData, inputData: { message: 'Summarise the repo', conversation_id: '1701234567.000200',
      external_id: 'slack:C024BE91L:1701234567.000200', metadata: '' } });
  assert.equal(first.conversation_id, '1701234567.000200');
  assert.equal(first.conversation_external_id, 'slack:C024BE91L:1701234567.000200');
  const again = await run('creates.send_message.operation.perform',
    { authData, inputData: { message: 'And the tests?', conversation_id: '1701234567.000200', codebase_id: '' } });
  assert.notEqual(again.id, first.id);
});

test('Cancel Task: the dropdown offers the task, and cancelling it works', async () => {
  const choices = assertIds(await run('triggers.cancellable_task_choices.operation.perform', { authData, inputData: {}, meta: { page: 0 } }));
  assert.ok(choices.some((c) => c.id === task.id && c.label.includes('Review: login page')));
  const cancelled = await run('creates.cancel_task.operation.perform', { authData, inputData: { task_id: task.id } });
  assert.equal(cancelled.status, 'cancelled');
  const after = await run('triggers.cancellable_task_choices.operation.perform', { authData, inputData: {}, meta: { page: 0 } });
  assert.ok(!after.some((c) => c.id === task.id));
});

test("core's output checks are on in this process (NODE_ENV=test)", async () => {
  // Core checks trigger `perform` results (polling triggers, like the dropdowns above); it skips
  // hook deliveries and performList, which the tests here check with assertIds.
  const broken = { ...app, triggers: { ...app.triggers, codebase_choices: { ...app.triggers.codebase_choices,
    operation: { ...app.triggers.codebase_choices.operation, perform: { source: "return [{ name: 'no id' }];" } } } } };
  await assert.rejects(zapier.createAppHandler(broken)({ command: 'execute',
    method: 'triggers.codebase_choices.operation.perform', bundle: { authData, inputData: {}, meta: { page: 0 } },
    storeKey: 'test', zcacheTestObj: {}, cursorTestObj: {} }),
  (err) => err.name === 'CheckError' && /missing the "id"/.test(err.message));
});

test('bad input comes back as an error naming the field', async () => {
  await assert.rejects(run('creates.create_task.operation.perform', { authData, inputData: { title: 'No prompt' } }),
    (err) => err.name === 'ResponseError' && /prompt/.test(err.message));
});

test('an expired access token raises RefreshAuthError; refresh, then the replay succeeds', async () => {
  const expired = { ...authData, access_token: env.EXPIRED_TOKEN };
  await assert.rejects(run('searches.find_task.operation.perform', { authData: expired, inputData: { task_id: task.id } }),
    (err) => err.name === 'RefreshAuthError');
  authData = await run('authentication.oauth2Config.refreshAccessToken', { authData, inputData: {} });
  const replay = await run('searches.find_task.operation.perform', { authData, inputData: { task_id: task.id } });
  assert.equal(replay[0].id, task.id);
});

test('a receiver answering 410 removes its subscription', async () => {
  const gone = await run('triggers.task_failed.operation.performSubscribe', { authData, inputData: {}, targetUrl: `${base}/gone` });
  const doomed = await run('creates.create_task.operation.perform', { authData, inputData: { title: 'Doomed', prompt: 'p' } });
  finish(doomed.id, 'failed');
  await delivery('/gone', doomed.id);
  await waitFor(async () => !(await hooks(authData)).some((h) => h.id === gone.id), 'the 410 subscription to go', 20000, 250);
});

test('unsubscribe every hook', async () => {
  for (const [key, subscribeData] of Object.entries(subscriptions)) {
    const out = await run(`triggers.${key}.operation.performUnsubscribe`, { authData, inputData: {}, subscribeData });
    assert.ok(out);
  }
  assert.deepEqual(await hooks(authData), []);
});
