// panva oidc-provider (a certified OpenID Provider) configured the way Entra ID looks to
// bcbridge: issuer and discovery at /{tenant}/v2.0, confidential clients (client_secret_post
// and client_secret_basic), PKCE S256 required, refresh-token rotation, RFC 7009 revocation,
// RFC 7662 introspection and a BC-like resource scope.
//
// Usage: node oidc/server.mjs --port 0 --redirect-uri URI [--redirect-uri URI ...]
// Prints one JSON line {"listening": "http://127.0.0.1:PORT", "issuer": ...} when ready.
// GET /_peer/events lists the token grants the provider issued (grant.success events),
// so tests count refresh_token grants at the provider itself.
import http from 'node:http';
import express from 'express';
import Provider from 'oidc-provider';

import { CLIENTS, RESOURCE, SCOPE, TENANT } from './clients.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
const redirectUris = args.flatMap((value, i) => (args[i - 1] === '--redirect-uri' ? [value] : []));
const host = option('host', '127.0.0.1');
const accessTokenTTL = Number(option('access-token-ttl', '3600'));

const app = express();
const server = http.createServer(app);
await new Promise((resolve) => server.listen(Number(option('port', '0')), host, resolve));
const base = `http://${host}:${server.address().port}`;
const prefix = `/${TENANT}/v2.0`;
const issuer = `${base}${prefix}`;

const events = [];

const provider = new Provider(issuer, {
  clients: CLIENTS.map((client) => ({ redirect_uris: redirectUris, ...client })),
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access', SCOPE],
  rotateRefreshToken: () => true,
  ttl: { AccessToken: accessTokenTTL, ClientCredentials: accessTokenTTL, RefreshToken: 14 * 24 * 3600 },
  routes: {
    authorization: '/oauth2/v2.0/authorize',
    token: '/oauth2/v2.0/token',
    revocation: '/oauth2/v2.0/revoke',
    introspection: '/oauth2/v2.0/introspect',
    jwks: '/discovery/v2.0/keys',
    end_session: '/oauth2/v2.0/logout',
  },
  cookies: { keys: ['bcbridge-peer-cookie-key'] },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Entra takes the resource from the scope (".default"); a request without
      // `resource` gets BC's.
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== RESOURCE) throw new Provider.errors.InvalidTarget();
        return { scope: SCOPE, audience: RESOURCE, accessTokenFormat: 'opaque', accessTokenTTL };
      },
    },
  },
});
provider.proxy = false;

provider.on('grant.success', (ctx) => {
  events.push({ grant_type: ctx.oidc.params.grant_type, client_id: ctx.oidc.client?.clientId, at: Date.now() });
});
provider.on('grant.error', (ctx, error) => {
  events.push({ grant_type: ctx.oidc.params?.grant_type, error: error.error, at: Date.now() });
});

app.get('/_peer/events', (req, res) => res.json({ events }));
app.use(prefix, provider.callback());

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const clients = CLIENTS.map(({ client_id, client_secret, token_endpoint_auth_method, application_type }) => ({
  client_id, client_secret, token_endpoint_auth_method, application_type: application_type || 'web',
}));
process.stdout.write(`${JSON.stringify({ listening: base, issuer, tenant: TENANT, scope: SCOPE, clients })}\n`);
