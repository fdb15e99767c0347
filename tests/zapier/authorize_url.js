// Render the app's authorizeUrl as Zapier would: node authorize_url.js APP_DIR REDIRECT_URI STATE
'use strict';
const path = require('path');
const zapier = require('zapier-platform-core');

const app = require(path.resolve(process.argv[2], 'index.js'));
zapier.createAppHandler(app)({ command: 'execute', method: 'authentication.oauth2Config.authorizeUrl',
  bundle: { inputData: { redirect_uri: process.argv[3], state: process.argv[4] } }, storeKey: 'test',
  zcacheTestObj: {}, cursorTestObj: {} })
  .then((out) => console.log(out.results))
  .catch((err) => { console.error(err); process.exit(1); });
