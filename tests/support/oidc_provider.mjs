// A real, certified OpenID provider (npm `oidc-provider`, panva, 9.x) configured as ProConnect
// behaves for essor: its scopes and claims (`given_name`, `usual_name`, `uid`, `siret`,
// `idp_id`), the `claims` parameter, the userinfo as a signed JWT, RP-initiated logout, and
// a sign-in page of its own (any login, any password; the provider vouches `acr` eidas1 as
// ProConnect does, which its development pages cannot) that Chromium drives in
// tests/web/proconnect.rs. Started by that test:
//   node tests/support/oidc_provider.mjs   (environment below; prints "ready <issuer>")
// NODE_PATH (or ESSOR_OIDC_PROVIDER_DIR) names where `npm install oidc-provider@9` put it.
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';

const dir = process.env.ESSOR_OIDC_PROVIDER_DIR;
const require = createRequire(path.join(dir, 'package.json'));
const { default: Provider } = await import(require.resolve('oidc-provider'));

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const siret = process.env.OIDC_SIRET || '20009320100016';

const configuration = {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID,
    client_secret: process.env.OIDC_CLIENT_SECRET,
    redirect_uris: [process.env.OIDC_REDIRECT_URI],
    post_logout_redirect_uris: [process.env.OIDC_POST_LOGOUT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
    userinfo_signed_response_alg: 'RS256',
  }],
  scopes: ['openid', 'email', 'given_name', 'usual_name', 'uid', 'siret', 'idp_id'],
  claims: {
    openid: ['sub'],
    email: ['email'],
    given_name: ['given_name'],
    usual_name: ['usual_name'],
    uid: ['uid'],
    siret: ['siret'],
    idp_id: ['idp_id'],
    acr: null,
  },
  acrValues: ['eidas1'],
  interactions: {
    url(ctx, interaction) {
      return `/interaction/${interaction.uid}`;
    },
  },
  features: {
    devInteractions: { enabled: false },
    claimsParameter: { enabled: true },
    jwtUserinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  // The login typed on the development page is the account's address.
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: id,
          given_name: 'Camille',
          usual_name: 'Durand',
          uid: '42',
          siret,
          idp_id: 'fia1v2',
        };
      },
    };
  },
  cookies: { keys: ['essor-interop-test-only'] },
};

const provider = new Provider(issuer, configuration);
const callback = provider.callback();

const page = (title, body) => `<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;

async function readForm(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  return Object.fromEntries(new URLSearchParams(raw));
}

// The interaction pages (the provider's own sign-in and consent), as its documentation's
// example mounts them.
async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (req.method === 'GET' && prompt.name === 'login') {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page('Identification', `<form method="post" action="/interaction/${uid}/login">
<input type="hidden" name="prompt" value="login">
<label>Identifiant <input required type="text" name="login"></label>
<label>Mot de passe <input required type="password" name="password"></label>
<button type="submit">Se connecter</button></form>`));
    return;
  }
  if (req.method === 'GET' && prompt.name === 'consent') {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(page('Autorisation', `<form method="post" action="/interaction/${uid}/consent">
<input type="hidden" name="prompt" value="consent">
<button type="submit">Continuer</button></form>`));
    return;
  }
  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    await provider.interactionFinished(req, res, {
      login: { accountId: form.login, acr: 'eidas1', amr: ['pwd'] },
    }, { mergeWithLastSubmission: false });
    return;
  }
  if (req.method === 'POST' && action === 'consent') {
    const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  res.statusCode = 400;
  res.end('unexpected interaction');
}

http.createServer((req, res) => {
  const m = req.url.match(/^\/interaction\/([^/?]+)(?:\/(login|consent))?/);
  if (m) {
    interaction(req, res, m[1], m[2]).catch((e) => {
      res.statusCode = 500;
      res.end(String(e));
    });
    return;
  }
  callback(req, res);
}).listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
