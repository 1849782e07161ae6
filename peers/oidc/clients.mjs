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
    ...common,
    client_id: 'bcbridge-basic',
    client_secret: 'peer-secret-basic-0123456789',
    token_endpoint_auth_method: 'client_secret_basic',
  },
];
