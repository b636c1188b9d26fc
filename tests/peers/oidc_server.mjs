// A Keycloak-shaped OpenID provider for the tests, built on oidc-provider and
// configured from a Keycloak realm export (keycloak-realm/realm.json): the realm
// name gives the issuer path, the clients, secrets, redirect URIs, users,
// passwords, attributes, groups and protocol mappers come from the file.
//
//   node oidc_server.mjs --port PORT --realm realm.json --keys jwks.json
//
// Test-only routes (loopback only, outside the issuer path):
//   POST /test/rotate-keys {"keep_old": bool}  new signing key; returns {kid}
//   GET  /test/health                          {"pid": ..., "issuer": ...}
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    realm: { type: 'string' },
    keys: { type: 'string' },
  },
});
const port = Number(args.port);
const realm = JSON.parse(fs.readFileSync(args.realm, 'utf8'));
const prefix = `/realms/${realm.realm}`;
const issuer = `http://${args.host}:${port}${prefix}`;
const resourceIndicator = `${issuer}/resource`;

// ---- realm -> accounts and clients --------------------------------------------------

// Keycloak's `sub` is the user's id (a UUID); derive a stable one when the export has none.
function uuidFor(name) {
  const h = crypto.createHash('sha1').update(`${realm.realm}/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const users = new Map(); // sub -> realm user
const usersByName = new Map();
for (const user of realm.users ?? []) {
  if (user.enabled === false) continue;
  const sub = user.id ?? uuidFor(user.username);
  users.set(sub, user);
  usersByName.set(user.username.toLowerCase(), sub);
}

function passwordOf(user) {
  const cred = (user.credentials ?? []).find((c) => c.type === 'password');
  return cred?.value;
}

function groupNames(user, fullPath) {
  return (user.groups ?? []).map((path) => (fullPath ? path : path.split('/').pop()));
}

const realmClients = (realm.clients ?? []).filter(
  (c) => c.enabled !== false && (c.protocol ?? 'openid-connect') === 'openid-connect',
);

// The claims of a client's protocol mappers: {claim: value} for one user.
function mapperClaims(clientId, user, kind) {
  const client = realmClients.find((c) => c.clientId === clientId);
  const flag = { id_token: 'id.token.claim', access_token: 'access.token.claim', userinfo: 'userinfo.token.claim' }[kind];
  const claims = {};
  for (const mapper of client?.protocolMappers ?? []) {
    const cfg = mapper.config ?? {};
    if (flag && cfg[flag] === 'false') continue;
    if (mapper.protocolMapper === 'oidc-usermodel-attribute-mapper') {
      const values = user.attributes?.[cfg['user.attribute']];
      if (values === undefined || values.length === 0) continue;
      claims[cfg['claim.name']] = cfg.multivalued === 'true' ? [...values] : values[0];
    } else if (mapper.protocolMapper === 'oidc-group-membership-mapper') {
      claims[cfg['claim.name']] = groupNames(user, cfg['full.path'] !== 'false');
    }
  }
  return claims;
}

const mapperClaimNames = new Set(
  realmClients.flatMap((c) => (c.protocolMappers ?? []).map((m) => m.config?.['claim.name']).filter(Boolean)),
);

function standardClaims(sub, user) {
  const name = [user.firstName, user.lastName].filter(Boolean).join(' ');
  return {
    sub,
    preferred_username: user.username.toLowerCase(),
    ...(user.email ? { email: user.email, email_verified: Boolean(user.emailVerified) } : {}),
    ...(name ? { name } : {}),
    ...(user.firstName ? { given_name: user.firstName } : {}),
    ...(user.lastName ? { family_name: user.lastName } : {}),
  };
}

function clientMetadata(c) {
  const grantTypes = [];
  if (c.standardFlowEnabled !== false) grantTypes.push('authorization_code', 'refresh_token');
  if (c.serviceAccountsEnabled) grantTypes.push('client_credentials');
  const postLogout = (c.attributes?.['post.logout.redirect.uris'] ?? '').split('##').filter(Boolean);
  return {
    client_id: c.clientId,
    ...(c.publicClient
      ? { token_endpoint_auth_method: 'none' }
      : { client_secret: c.secret, token_endpoint_auth_method: 'client_secret_basic' }),
    grant_types: grantTypes,
    response_types: c.standardFlowEnabled !== false ? ['code'] : [],
    redirect_uris: (c.redirectUris ?? []).filter((u) => !u.includes('*')),
    post_logout_redirect_uris: postLogout,
  };
}

// ---- keys ---------------------------------------------------------------------------

function newKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
}

function loadKeys() {
  if (fs.existsSync(args.keys)) return JSON.parse(fs.readFileSync(args.keys, 'utf8'));
  const jwks = { keys: [newKey()] };
  fs.writeFileSync(args.keys, JSON.stringify(jwks), { mode: 0o600 });
  return jwks;
}

// ---- the provider -------------------------------------------------------------------

const cookieKeys = [crypto.randomBytes(32).toString('hex')];

// RFC 8252 section 7.3 (Keycloak does the same): a loopback redirect URI matches on any port,
// so the gateway under test may listen wherever it likes.
function loopbackMatch(registered, value) {
  try {
    const a = new URL(registered);
    const b = new URL(value);
    if (!['127.0.0.1', '[::1]'].includes(a.hostname) || a.hostname !== b.hostname) return false;
    a.port = '';
    b.port = '';
    return a.href === b.href;
  } catch {
    return false;
  }
}

function buildProvider(jwks) {
  const provider = new Provider(issuer, {
    clients: realmClients.map(clientMetadata),
    jwks,
    cookies: { keys: cookieKeys },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: {
      // Keycloak's mappers add their claims whatever the scope: tie them to `openid`.
      openid: ['sub', ...mapperClaimNames],
      profile: ['preferred_username', 'name', 'given_name', 'family_name'],
      email: ['email', 'email_verified'],
    },
    conformIdTokenClaims: false,
    findAccount(ctx, sub) {
      const user = users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims(use) {
          const clientId = ctx.oidc?.client?.clientId;
          return { ...standardClaims(sub, user), ...mapperClaims(clientId, user, use) };
        },
      };
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      // Own pages: the defaults load web fonts from the internet, and tests stay on loopback.
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx, form) {
          // As Keycloak: with an id_token_hint the logout needs no confirmation click.
          const auto = ctx.oidc.params.id_token_hint
            ? `<script>document.getElementById('kc-logout').click();</script>`
            : '';
          ctx.type = 'html';
          ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>Logging out</title></head><body>
<h1 id="kc-page-title">Do you want to log out?</h1>
${form}
<button id="kc-logout" type="submit" form="op.logoutForm" name="logout" value="yes">Logout</button>
${auto}
</body></html>`;
        },
        postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Logged out</title></head><body><h1 id="kc-page-title">You are logged out</h1></body></html>';
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resourceIndicator,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator, client) => ({
          scope: 'openid profile email offline_access',
          audience: client.clientId,
          accessTokenTTL: realm.accessTokenLifespan ?? 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    pkce: {
      required: (ctx, client) => {
        const c = realmClients.find((rc) => rc.clientId === client.clientId);
        return Boolean(c?.publicClient || c?.attributes?.['pkce.code.challenge.method']);
      },
    },
    issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: realm.accessTokenLifespan ?? 300,
      ClientCredentials: realm.accessTokenLifespan ?? 300,
      IdToken: realm.accessTokenLifespan ?? 300,
    },
    async extraTokenClaims(ctx, token) {
      // Keycloak puts the mapper claims into access tokens too; a client's own token
      // (client_credentials) gets those of its service-account user.
      if (token.kind === 'ClientCredentials') {
        const user = (realm.users ?? []).find((u) => u.serviceAccountClientId === token.clientId);
        if (!user) return { client_id: token.clientId };
        return {
          client_id: token.clientId,
          preferred_username: user.username,
          ...mapperClaims(token.clientId, user, 'access_token'),
        };
      }
      const user = token.accountId ? users.get(token.accountId) : undefined;
      if (!user) return undefined;
      const { sub, ...standard } = standardClaims(token.accountId, user);
      return { ...standard, ...mapperClaims(token.clientId, user, 'access_token') };
    },
    // consentRequired=false in the realm: grant what was asked, as Keycloak does.
    async loadExistingGrant(ctx) {
      const { client, session, params } = ctx.oidc;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      const grant = grantId
        ? await ctx.oidc.provider.Grant.find(grantId)
        : new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope(String(params.scope ?? 'openid'));
      grant.addResourceScope(resourceIndicator, String(params.scope ?? 'openid'));
      await grant.save();
      return grant;
    },
    interactions: { url: (ctx, interaction) => `${prefix}/interaction/${interaction.uid}` },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><title>Error</title><h1 id="kc-error-message">${escape(out.error)}</h1><p>${escape(out.error_description ?? '')}</p>`;
    },
  });
  const { redirectUriAllowed, postLogoutRedirectUriAllowed } = provider.Client.prototype;
  provider.Client.prototype.redirectUriAllowed = function allowed(value) {
    return redirectUriAllowed.call(this, value) || this.redirectUris.some((r) => loopbackMatch(r, value));
  };
  provider.Client.prototype.postLogoutRedirectUriAllowed = function allowed(value) {
    return postLogoutRedirectUriAllowed.call(this, value)
      || this.postLogoutRedirectUris.some((r) => loopbackMatch(r, value));
  };
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  return provider;
}

let jwks = loadKeys();
let provider = buildProvider(jwks);
let callback = provider.callback();

// ---- the login page (Keycloak's ids: #username, #password, #kc-login) ---------------

function escape(s) {
  return String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function loginPage(action, client, error, username) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in to ${escape(realm.displayName ?? realm.realm)}</title></head>
<body>
<h1 id="kc-page-title">Sign in to your account</h1>
<p>Client: <span id="kc-client">${escape(client)}</span></p>
${error ? `<div id="input-error" role="alert">${escape(error)}</div>` : ''}
<form id="kc-form-login" method="post" action="${escape(action)}">
  <label for="username">Username</label>
  <input id="username" name="username" type="text" autocomplete="username" value="${escape(username ?? '')}" autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password">
  <input id="kc-login" name="login" type="submit" value="Sign In">
</form>
</body></html>`;
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function interaction(req, res, url) {
  const details = await provider.interactionDetails(req, res);
  const action = url.pathname;
  if (details.prompt.name !== 'login') {
    // consent is granted in loadExistingGrant; nothing else to ask.
    const grant = new provider.Grant({ clientId: details.params.client_id, accountId: details.session?.accountId });
    grant.addOIDCScope(String(details.params.scope ?? 'openid'));
    grant.addResourceScope(resourceIndicator, String(details.params.scope ?? 'openid'));
    await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    return;
  }
  if (req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    const username = (form.get('username') ?? '').toLowerCase();
    const sub = usersByName.get(username);
    const user = sub && users.get(sub);
    if (user && passwordOf(user) !== undefined && passwordOf(user) === form.get('password')) {
      console.log(`login ok: ${username} (${details.params.client_id})`);
      await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
      return;
    }
    console.log(`login failed: ${username}`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginPage(action, details.params.client_id, 'Invalid username or password.', username));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(loginPage(action, details.params.client_id));
}

// ---- userinfo for JWT access tokens ------------------------------------------------
// oidc-provider keeps its userinfo endpoint for tokens without an audience, but every access
// token here is a JWT for a resource (as Keycloak's are); answer those as Keycloak does.

function verifiedAccessToken(token) {
  const [header64, payload64, signature64] = token.split('.');
  const header = JSON.parse(Buffer.from(header64, 'base64url'));
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk || header.alg !== 'RS256') return undefined;
  const { d, p, q, dp, dq, qi, ...publicJwk } = jwk;
  const key = crypto.createPublicKey({ key: publicJwk, format: 'jwk' });
  const ok = crypto.verify('sha256', Buffer.from(`${header64}.${payload64}`), key, Buffer.from(signature64, 'base64url'));
  if (!ok) return undefined;
  const claims = JSON.parse(Buffer.from(payload64, 'base64url'));
  if (claims.iss !== issuer || claims.exp * 1000 < Date.now()) return undefined;
  return claims;
}

function userinfo(req, res) {
  const match = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(req.headers.authorization ?? '');
  let claims;
  try {
    claims = match && verifiedAccessToken(match[1]);
  } catch {
    claims = undefined;
  }
  const user = claims && users.get(claims.sub);
  if (!user) {
    res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'invalid_token', error_description: 'invalid token provided' }));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ...standardClaims(claims.sub, user), ...mapperClaims(claims.client_id, user, 'userinfo') }));
}

// ---- test-only routes ---------------------------------------------------------------

async function testRoute(req, res, url) {
  if (url.pathname === '/test/health') {
    // The pid tells the starter that this process, not another, holds the port.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ pid: process.pid, issuer }));
    return;
  }
  if (url.pathname === '/test/rotate-keys' && req.method === 'POST') {
    const body = (await readBody(req)) || '{}';
    const { keep_old: keepOld = false } = JSON.parse(body);
    const key = newKey();
    // The first key signs; a kept old key stays published so its tokens still verify.
    jwks = { keys: keepOld ? [key, ...jwks.keys] : [key] };
    fs.writeFileSync(args.keys, JSON.stringify(jwks), { mode: 0o600 });
    provider = buildProvider(jwks);
    callback = provider.callback();
    console.log(`keys rotated: signing kid ${key.kid} (kept old: ${keepOld})`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kid: key.kid, kids: jwks.keys.map((k) => k.kid) }));
    return;
  }
  res.writeHead(404);
  res.end();
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (url.pathname.startsWith('/test/')) {
      await testRoute(req, res, url);
    } else if (url.pathname === `${prefix}/me` && /^Bearer [^.]+\.[^.]+\.[^.]+$/.test(req.headers.authorization ?? '')) {
      userinfo(req, res);
    } else if (url.pathname.startsWith(`${prefix}/interaction/`)) {
      await interaction(req, res, url);
    } else if (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`)) {
      // Mount the provider at the issuer path, as express's app.use(prefix, ...) would.
      req.originalUrl = req.url;
      req.url = req.url.slice(prefix.length) || '/';
      callback(req, res);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  } catch (err) {
    console.error(`${req.method} ${url.pathname}:`, err);
    if (!res.headersSent) {
      res.writeHead(err.statusCode ?? 500, { 'content-type': 'text/plain' });
    }
    res.end(String(err.message ?? err));
  }
});

server.listen(port, args.host, () => {
  console.log(`oidc provider ${issuer} ready (pid ${process.pid})`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
