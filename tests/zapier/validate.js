// Validate an exported Zapier app package with Zapier's own schema and core.
// Usage: node validate.js APP_DIR   (prints JSON: {schemaErrors, coreErrors})
'use strict';
const path = require('path');
const schema = require('zapier-platform-schema');
const zapier = require('zapier-platform-core');

const main = async () => {
  const app = require(path.resolve(process.argv[2], 'index.js'));
  const schemaErrors = schema.validateAppDefinition(app).errors.map((e) => e.stack || String(e));
  const handled = await zapier.createAppHandler(app)({ command: 'validate' });
  console.log(JSON.stringify({ schemaErrors, coreErrors: handled.results, version: app.version,
    platformVersion: app.platformVersion }));
};
main().catch((err) => { console.error(err); process.exit(1); });
