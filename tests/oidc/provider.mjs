// A local OpenID Connect provider for the SSO tests: the certified
// `oidc-provider` package, set up like a Keycloak realm (issuer under
// /realms/<realm>, preferred_username, realm_access.roles, no consent
// screen for first-party clients, JWT access tokens for a resource).
//
// Usage: node provider.mjs <config.json>   (see tests/oidc_provider.py)
// Prints "ready <issuer>" once it listens on 127.0.0.1.
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const prefix = `/realms/${config.realm}`;
const issuer = `http://127.0.0.1:${config.port}${prefix}`;
// username -> { sub, password, email, name, roles, groups }: read at each use, so that a test
// can change a user's groups between sign-ins (OidcProvider.update_user), as an admin would.
const users = () => JSON.parse(readFileSync(process.argv[2], 'utf8')).users;

// The realm's RS256 signing key (a private JWK made once by the test session).
const signingKey = { ...config.signingKey, kid: 'realm-key-1', use: 'sig', alg: 'RS256' };

function account(sub) {
  const entry = Object.entries(users()).find(([, u]) => u.sub === sub);
  if (!entry) return undefined;
  const [username, user] = entry;
  return {
    accountId: sub,
    async claims() {
      return {
        sub,
        preferred_username: username,
        email: user.email,
        email_verified: true,
        name: user.name,
        realm_access: { roles: user.roles },
        groups: user.groups, // Keycloak's group membership mapper, full paths; none: no claim
      };
    },
  };
}

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: ['test-cookie-key'] },
  // Keycloak's "roles" scope is a default scope: realm roles come with openid.
  // With "rolesOnlyInAccessToken" the roles are only in JWT access tokens
  // (Keycloak's default mapper), and the hub's sign-in gets such a token.
  claims: {
    openid: config.rolesOnlyInAccessToken ? ['sub'] : ['sub', 'realm_access', 'groups'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  // Keycloak puts the mapped claims in the ID token; with "rolesOnlyInUserinfo"
  // they are left to the userinfo answer (a mapper with "Add to ID token" off).
  conformIdTokenClaims: Boolean(config.rolesOnlyInUserinfo),
  findAccount: async (_ctx, sub) => account(sub),
  // Keycloak's access tokens carry the user's name, email and realm roles too.
  extraTokenClaims: async (_ctx, token) => {
    const found = token.accountId && account(token.accountId);
    if (!found) return undefined;
    const { preferred_username, email, name, realm_access, groups } = await found.claims();
    return { preferred_username, email, name, realm_access, groups };
  },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      useGrantedResource: () => true,
      defaultResource: (ctx, client, oneOf) => oneOf
        || (config.rolesOnlyInAccessToken && client.clientId === 'codetether-hub' ? config.resource : undefined),
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== config.resource) throw new Error('unknown resource');
        return { scope: config.resourceScopes, audience: config.audience, accessTokenFormat: 'jwt',
                 jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  // First-party clients: no consent screen (Keycloak's "Consent required: off").
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile');
    grant.addResourceScope(config.resource, config.resourceScopes);
    await grant.save();
    return grant;
  },
  interactions: { url: (_ctx, interaction) => `${prefix}/interaction/${interaction.uid}` },
  ttl: { AccessToken: 300, IdToken: 300, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
});

const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

function loginPage(res, uid, error) {
  res.writeHead(error ? 401 : 200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><title>Sign in to ${escape(config.realm)}</title>
<h1>Sign in to ${escape(config.realm)}</h1>${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="${prefix}/interaction/${uid}/login">
<label>Username <input name="username"></label><label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form>`);
}

async function interaction(req, res) {
  const { uid, prompt } = await provider.interactionDetails(req, res);
  if (prompt.name !== 'login') throw new Error(`unexpected prompt ${prompt.name}`);
  if (req.method === 'GET') return loginPage(res, uid);
  let body = '';
  for await (const chunk of req) body += chunk;
  const form = new URLSearchParams(body);
  const user = users()[form.get('username')];
  if (!user || user.password !== form.get('password')) return loginPage(res, uid, 'Invalid username or password.');
  return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (!req.url.startsWith(prefix)) {
    res.writeHead(404).end();
    return;
  }
  if (req.url.startsWith(`${prefix}/interaction/`)) {
    interaction(req, res).catch((err) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
    });
    return;
  }
  // Mounted under the realm path, as an Express app.use(prefix, ...) would.
  req.originalUrl = req.url;
  req.url = req.url.slice(prefix.length) || '/';
  callback(req, res);
});
server.on('error', (err) => { console.error(`cannot listen: ${err}`); process.exit(1); });
server.listen(config.port, '127.0.0.1', () => console.log(`ready ${issuer}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
