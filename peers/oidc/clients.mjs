// The app registrations of the peer identity provider (shared with the Python tests through
// `node oidc/server.mjs`'s ready line and tests/peers/conftest.py's constants).
export const TENANT = 'c0ffee00-0b1d-4c0a-8e11-b0b0b0b0b0b0';
export const RESOURCE = 'https://api.businesscentral.dynamics.com';
export const SCOPE = `${RESOURCE}/.default`;

const common = {
  grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
  response_types: ['code'],
  scope: `openid offline_access ${SCOPE}`,
};

export const CLIENTS = [
  {
    ...common,
    client_id: 'bcbridge-post',
    client_secret: 'peer-secret-post-0123456789',
    token_endpoint_auth_method: 'client_secret_post',
  },
  {
    // RFC 8252 §7.3: a native client's loopback redirect URI matches on any port, so the
    // browser test's live server (random port) can be the redirect target.
    ...common,
    client_id: 'bcbridge-loopback',
    client_secret: 'peer-secret-loopback-0123456789',
    token_endpoint_auth_method: 'client_secret_post',
    application_type: 'native',
    redirect_uris: ['http://127.0.0.1/bcbridge/oauth/callback/'],
  },
  {
    ...common,
    client_id: 'bcbridge-basic',
    client_secret: 'peer-secret-basic-0123456789',
    token_endpoint_auth_method: 'client_secret_basic',
  },
];
