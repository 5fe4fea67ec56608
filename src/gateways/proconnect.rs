//! ProConnect, the State's identity federation for public agents (OpenID Connect, DESIGN.md
//! §17), through the `openidconnect` crate: the provider's discovery document (kept an hour),
//! the authorization-code flow with only the parameters ProConnect accepts, the ID token
//! checked (signature by the provider's keys, issuer, audience, expiry, nonce), the userinfo
//! asked as a signed JWT and checked the same way, and the end-session URL for sign-out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClientAuthMethod,
    CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm,
    CoreRevocableToken, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndSessionUrl, IdTokenFields, IssuerUrl, LogoutRequest, Nonce,
    OAuth2TokenResponse, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, SubjectIdentifier, TokenResponse, UserInfoClaims,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use crate::config::ProConnectSettings;

/// The scopes ProConnect serves (its documentation's list; `uid`, `siret` and `idp_id` are its
/// own claims).
pub const SCOPES: [&str; 6] = [
    "email",
    "given_name",
    "usual_name",
    "uid",
    "siret",
    "idp_id",
];

/// How long the discovery document is reused.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// ProConnect's own claims, beside the standard ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProConnectClaims {
    pub usual_name: Option<String>,
    pub uid: Option<String>,
    pub siret: Option<String>,
    pub idp_id: Option<String>,
}

impl AdditionalClaims for ProConnectClaims {}

type IdTokenClaimsFields = IdTokenFields<
    ProConnectClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJwsSigningAlgorithm,
>;
type ProConnectTokenResponse = StandardTokenResponse<IdTokenClaimsFields, CoreTokenType>;

type ProConnectClient<
    HasAuthUrl = openidconnect::EndpointSet,
    HasDeviceAuthUrl = openidconnect::EndpointNotSet,
    HasIntrospectionUrl = openidconnect::EndpointNotSet,
    HasRevocationUrl = openidconnect::EndpointNotSet,
    HasTokenUrl = openidconnect::EndpointMaybeSet,
    HasUserInfoUrl = openidconnect::EndpointMaybeSet,
> = openidconnect::Client<
    ProConnectClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    ProConnectTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    HasAuthUrl,
    HasDeviceAuthUrl,
    HasIntrospectionUrl,
    HasRevocationUrl,
    HasTokenUrl,
    HasUserInfoUrl,
>;

/// Why a sign-in with ProConnect failed. Said in French to the person; the details go to the
/// log.
#[derive(Debug, thiserror::Error)]
pub enum ProConnectError {
    #[error("ProConnect est injoignable pour l'instant")]
    Unreachable(String),
    #[error("la réponse de ProConnect n'a pas pu être vérifiée")]
    Invalid(String),
}

/// Who ProConnect says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub sub: String,
    pub idp_id: String,
    pub email: String,
    pub given_name: Option<String>,
    pub usual_name: Option<String>,
    pub uid: Option<String>,
    pub siret: Option<String>,
    /// The authentication context the provider vouches for (`eidas1`, an MFA level…).
    pub acr: Option<String>,
    /// The raw ID token, kept in the session for sign-out (`id_token_hint`).
    pub id_token: String,
}

pub struct ProConnect {
    http: reqwest::Client,
    discovery_url: String,
    client_id: ClientId,
    client_secret: SecretString,
    redirect_url: RedirectUrl,
    metadata: RwLock<Option<(Instant, Arc<ProviderMetadataWithLogout>)>>,
}

/// oauth2's HTTP requests through essor's reqwest (no redirects: the crate asks for none).
async fn send(
    http: &reqwest::Client,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let (parts, body) = request.into_parts();
    let mut builder = http.request(parts.method, parts.uri.to_string()).body(body);
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await?;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await?;
    let mut out = openidconnect::http::Response::new(bytes.to_vec());
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

impl ProConnect {
    /// `essor_url` is `frontend.base_url`: the redirect URI follows it.
    pub fn new(settings: &ProConnectSettings, essor_url: &str) -> anyhow::Result<Self> {
        let secret = settings
            .client_secret
            .clone()
            .ok_or_else(|| anyhow::anyhow!("auth.proconnect.client_secret is required"))?;
        let redirect = format!(
            "{}/connexion/proconnect/retour",
            essor_url.trim_end_matches('/')
        );
        Ok(Self {
            http: super::http_client(Duration::from_secs(10), &super::user_agent(essor_url))?,
            discovery_url: settings.discovery_url.trim().to_owned(),
            client_id: ClientId::new(settings.client_id.trim().to_owned()),
            client_secret: secret,
            redirect_url: RedirectUrl::new(redirect)?,
            metadata: RwLock::new(None),
        })
    }

    /// The discovery document, fetched at most once an hour.
    async fn metadata(&self) -> Result<Arc<ProviderMetadataWithLogout>, ProConnectError> {
        if let Some((at, m)) = self.metadata.read().await.as_ref()
            && at.elapsed() < METADATA_TTL
        {
            return Ok(m.clone());
        }
        let http = self.http.clone();
        let client = move |r| {
            let http = http.clone();
            async move { send(&http, r).await }
        };
        // The configured URL is the document's own; the issuer is read from it and checked by
        // the crate against the document's `issuer`.
        let issuer = self
            .discovery_url
            .trim_end_matches("/.well-known/openid-configuration")
            .to_owned();
        let issuer = IssuerUrl::new(issuer).map_err(|e| ProConnectError::Invalid(e.to_string()))?;
        let m = ProviderMetadataWithLogout::discover_async(issuer, &client)
            .await
            .map_err(|e| ProConnectError::Unreachable(format!("discovery: {e}")))?;
        let m = Arc::new(m);
        *self.metadata.write().await = Some((Instant::now(), m.clone()));
        Ok(m)
    }

    async fn client(&self) -> Result<ProConnectClient, ProConnectError> {
        let m = self.metadata().await?;
        // ProConnect registers its clients for client_secret_post: the secret goes in the
        // body whenever the provider accepts it there, in a Basic header otherwise.
        let basic = !m
            .token_endpoint_auth_methods_supported()
            .is_some_and(|methods| methods.contains(&CoreClientAuthMethod::ClientSecretPost));
        let client: ProConnectClient = openidconnect::Client::from_provider_metadata(
            (*m).clone(),
            self.client_id.clone(),
            Some(ClientSecret::new(
                self.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(self.redirect_url.clone())
        .set_auth_type(if basic {
            AuthType::BasicAuth
        } else {
            AuthType::RequestBody
        });
        Ok(client)
    }

    /// Where to send the browser: the provider's authorization endpoint with `state`, `nonce`
    /// and the `acr` asked through the `claims` parameter.
    pub async fn authorize_url(
        &self,
        state: &str,
        nonce: &str,
        acr: &str,
    ) -> Result<url::Url, ProConnectError> {
        let client = self.client().await?;
        let (state, nonce) = (state.to_owned(), nonce.to_owned());
        let claims = serde_json::json!({
            "id_token": {"amr": {"essential": true}, "acr": {"essential": true, "value": acr}}
        });
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state),
            move || Nonce::new(nonce),
        );
        for scope in SCOPES {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
        let (url, _, _) = request.add_extra_param("claims", claims.to_string()).url();
        Ok(url)
    }

    /// The code exchanged, the ID token and the userinfo checked: who signed in.
    pub async fn identify(&self, code: &str, nonce: &str) -> Result<Identity, ProConnectError> {
        let client = self.client().await?;
        let http = self.http.clone();
        let http_client = move |r| {
            let http = http.clone();
            async move { send(&http, r).await }
        };
        let invalid = |what: &str, e: &dyn std::fmt::Display| {
            ProConnectError::Invalid(format!("{what}: {e}"))
        };
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| invalid("token endpoint", &e))?
            .request_async(&http_client)
            .await
            .map_err(|e| invalid("token", &e))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| ProConnectError::Invalid("no id_token".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
            .map_err(|e| invalid("id_token", &e))?;
        let sub = claims.subject().as_str().to_owned();
        let acr = claims.auth_context_ref().map(|a| a.as_str().to_owned());
        let info: UserInfoClaims<ProConnectClaims, CoreGenderClaim> = client
            .user_info(
                token.access_token().clone(),
                Some(SubjectIdentifier::new(sub.clone())),
            )
            .map_err(|e| invalid("userinfo endpoint", &e))?
            .require_signed_response(true)
            .request_async(&http_client)
            .await
            .map_err(|e| invalid("userinfo", &e))?;
        let extra = info.additional_claims();
        let email = info
            .email()
            .map(|e| e.as_str().to_owned())
            .ok_or_else(|| ProConnectError::Invalid("userinfo without email".into()))?;
        let given_name = info
            .given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned());
        Ok(Identity {
            sub,
            idp_id: extra.idp_id.clone().unwrap_or_default(),
            email,
            given_name,
            usual_name: extra.usual_name.clone(),
            uid: extra.uid.clone(),
            siret: extra.siret.clone(),
            acr,
            id_token: id_token.to_string(),
        })
    }

    /// The provider's end-session URL for this ID token, back to `after` with `state`; `None`
    /// when the provider has no end-session endpoint.
    pub async fn end_session_url(
        &self,
        id_token: &str,
        after: &str,
        state: &str,
    ) -> Result<Option<url::Url>, ProConnectError> {
        let m = self.metadata().await?;
        let Some(endpoint) = m.additional_metadata().end_session_endpoint.clone() else {
            return Ok(None);
        };
        let endpoint: EndSessionUrl = endpoint;
        let hint = id_token.parse::<openidconnect::core::CoreIdToken>().ok();
        let after = PostLogoutRedirectUrl::new(after.to_owned())
            .map_err(|e| ProConnectError::Invalid(e.to_string()))?;
        let mut request = LogoutRequest::from(endpoint)
            .set_post_logout_redirect_uri(after)
            .set_state(CsrfToken::new(state.to_owned()));
        if let Some(hint) = hint {
            request = request.set_id_token_hint(&hint);
        }
        Ok(Some(request.http_get_url()))
    }
}
