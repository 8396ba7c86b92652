//! The HTTP client and the headers every request carries: TLS, authentication, static
//! and secret headers. Secrets are read here, once, when the sink is built; they live on
//! only inside header values marked sensitive and in the list used to scrub them from
//! what servers echo back.

use std::path::Path;

use base64::Engine;
use reqwest::header::{
    AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue,
};
use reqwest::{Certificate, ClientBuilder, Identity};

use super::encode;
use super::sign::{Signer, SignerError};
use crate::config::{
    HttpAuthConfig, HttpAuthStrategy, HttpCompression, HttpSinkConfig, HttpTlsConfig,
};
use crate::secret::{Secret, SecretError, SecretSource};

/// What the sink needs to make requests.
pub struct Setup {
    pub client: reqwest::Client,
    /// Every header of a delivery, but the signature's.
    pub headers: HeaderMap,
    /// The headers of a health probe: authentication and the configured ones.
    pub probe_headers: HeaderMap,
    pub signer: Option<Signer>,
    /// Every secret read, for scrubbing messages.
    pub secrets: Vec<Secret>,
}

/// Why the sink could not be set up. Never carries a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{field}: {source}")]
    Secret { field: String, source: SecretError },
    #[error("{field}: no file or environment variable is configured for the secret")]
    NoSecret { field: String },
    #[error(
        "{field}: the value from the {from} cannot be sent in an HTTP header: it holds line \
         breaks or other control characters"
    )]
    SecretValue { field: String, from: String },
    #[error("{field}: {name:?} is not a valid header name or value")]
    Header { field: String, name: String },
    #[error("tls.{field}: cannot read {path}: {source}")]
    TlsFile {
        field: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("tls.{field}: {path} is not usable: {reason}")]
    TlsPem {
        field: &'static str,
        path: String,
        reason: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error(transparent)]
    Signer(#[from] SignerError),
}

/// Reads the secrets and builds the client and headers.
pub fn setup(config: &HttpSinkConfig) -> Result<Setup, SetupError> {
    let mut secrets = Vec::new();
    let mut probe_headers = HeaderMap::new();
    if let Some(auth) = &config.auth {
        let value = authorization(auth, &mut secrets)?;
        probe_headers.insert(AUTHORIZATION, value);
    }
    for (name, value) in &config.headers {
        let field = format!("headers.{name:?}");
        let header = || SetupError::Header {
            field: field.clone(),
            name: name.clone(),
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| header())?;
        probe_headers.insert(name, HeaderValue::from_str(value).map_err(|_| header())?);
    }
    for (name, secret) in &config.secret_headers {
        let field = format!("secret_headers.{name:?}");
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| SetupError::Header {
            field: field.clone(),
            name: name.clone(),
        })?;
        let value = read(secret.source(), &field, &mut secrets)?;
        probe_headers.insert(header, sensitive(value.expose(), &field, secret.source())?);
    }

    let mut headers = HeaderMap::new();
    let content_type = encode::content_type(config.encoding, config.output.format().is_json());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if config.compression == HttpCompression::Gzip {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    // The configured headers come last, so that one can replace Content-Type.
    headers.extend(probe_headers.clone());

    let signer = match &config.signing {
        Some(signing) => {
            let key = read(signing.key(), "signing", &mut secrets)?;
            Some(Signer::new(
                &key,
                &signing.signature_header,
                &signing.timestamp_header,
            )?)
        }
        None => None,
    };
    Ok(Setup {
        client: client(config)?,
        headers,
        probe_headers,
        signer,
        secrets,
    })
}

fn client(config: &HttpSinkConfig) -> Result<reqwest::Client, SetupError> {
    // Redirects are not followed: they would carry the events and the credentials to
    // whatever host a redirect names.
    let mut builder = reqwest::Client::builder()
        .timeout(config.request_timeout)
        .connect_timeout(config.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("own-audit-forwarder/", env!("CARGO_PKG_VERSION")));
    if let Some(tls) = &config.tls {
        builder = with_tls(builder, tls, &config.name)?;
    }
    builder
        .build()
        .map_err(|e| SetupError::Client(super::request::describe(&e)))
}

fn with_tls(
    mut builder: ClientBuilder,
    tls: &HttpTlsConfig,
    sink: &str,
) -> Result<ClientBuilder, SetupError> {
    if let Some(path) = &tls.ca_file {
        let pem = read_file(path, "ca_file")?;
        let certs = Certificate::from_pem_bundle(&pem).map_err(|e| SetupError::TlsPem {
            field: "ca_file",
            path: path.display().to_string(),
            reason: super::request::describe(&e),
        })?;
        if certs.is_empty() {
            return Err(SetupError::TlsPem {
                field: "ca_file",
                path: path.display().to_string(),
                reason: "it holds no PEM certificate".into(),
            });
        }
        builder = builder.tls_certs_only(certs);
    }
    if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
        let mut pem = read_file(cert, "cert_file")?;
        pem.push(b'\n');
        pem.extend(read_file(key, "key_file")?);
        let identity = Identity::from_pem(&pem).map_err(|e| SetupError::TlsPem {
            field: "cert_file",
            path: format!("{} with {}", cert.display(), key.display()),
            reason: super::request::describe(&e),
        })?;
        builder = builder.identity(identity);
    }
    if tls.danger_accept_invalid_certificates {
        tracing::warn!(
            sink,
            "tls.danger_accept_invalid_certificates is on: the endpoint's certificate is not \
             checked, so anyone on the network path can read and change the events"
        );
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

fn authorization(
    auth: &HttpAuthConfig,
    secrets: &mut Vec<Secret>,
) -> Result<HeaderValue, SetupError> {
    let (value, source) = match auth.strategy {
        HttpAuthStrategy::Bearer => {
            let token = read(auth.token(), "auth", secrets)?;
            (format!("Bearer {}", token.expose()), auth.token())
        }
        HttpAuthStrategy::Splunk => {
            let token = read(auth.token(), "auth", secrets)?;
            (format!("Splunk {}", token.expose()), auth.token())
        }
        HttpAuthStrategy::Basic => {
            let password = read(auth.password(), "auth", secrets)?;
            let user = auth.username.as_deref().unwrap_or_default();
            let pair = format!("{user}:{}", password.expose());
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            (format!("Basic {encoded}"), auth.password())
        }
    };
    sensitive(&value, "auth", source)
}

/// A header value that hyper never prints, or an error naming where it came from.
fn sensitive(
    value: &str,
    field: &str,
    source: Option<SecretSource>,
) -> Result<HeaderValue, SetupError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| SetupError::SecretValue {
        field: field.to_owned(),
        from: source.map_or_else(|| "configuration".into(), |s| s.describe()),
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// Reads a secret; validation made sure that a source is configured.
fn read(
    source: Option<SecretSource>,
    field: &str,
    secrets: &mut Vec<Secret>,
) -> Result<Secret, SetupError> {
    let source = source.ok_or_else(|| SetupError::NoSecret {
        field: field.to_owned(),
    })?;
    let secret = source.read().map_err(|source| SetupError::Secret {
        field: field.to_owned(),
        source,
    })?;
    secrets.push(secret.clone());
    Ok(secret)
}

fn read_file(path: &Path, field: &'static str) -> Result<Vec<u8>, SetupError> {
    std::fs::read(path).map_err(|source| SetupError::TlsFile {
        field,
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SinkConfig, load_str};

    fn config(extra: &str) -> HttpSinkConfig {
        let toml = format!(
            "state_dir = \"/tmp\"\n[[sources]]\nname = \"s\"\nregion = \"app1\"\n\
             api_token_env = \"T\"\n[[sinks]]\ntype = \"http\"\nname = \"h\"\n{extra}"
        );
        match load_str(&toml).unwrap().sinks.remove(0) {
            SinkConfig::Http(http) => *http,
            other => panic!("not http: {other:?}"),
        }
    }

    #[test]
    fn basic_auth_and_secret_headers_are_sent_and_marked_sensitive() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "open sesame\n").unwrap();
        std::fs::write(dir.path().join("key"), "k-123").unwrap();
        let setup = setup(&config(&format!(
            "url = \"https://h/\"\ncompression = \"gzip\"\nencoding = \"ndjson\"\n\
             [sinks.auth]\nstrategy = \"basic\"\nusername = \"fwd\"\npassword_file = \"{}\"\n\
             [sinks.headers]\nX-Team = \"sec\"\n\
             [sinks.secret_headers.X-Api-Key]\nfile = \"{}\"\n",
            dir.path().join("pw").display(),
            dir.path().join("key").display()
        )))
        .unwrap();
        let auth = &setup.headers[AUTHORIZATION];
        // base64("fwd:open sesame")
        assert_eq!(auth, "Basic ZndkOm9wZW4gc2VzYW1l");
        assert!(auth.is_sensitive());
        assert!(setup.headers["x-api-key"].is_sensitive());
        assert_eq!(setup.headers["x-team"], "sec");
        assert_eq!(setup.headers[CONTENT_ENCODING], "gzip");
        assert_eq!(setup.headers[CONTENT_TYPE], "application/x-ndjson");
        assert!(setup.probe_headers.get(CONTENT_TYPE).is_none());
        assert_eq!(setup.secrets.len(), 2);
    }

    #[test]
    fn a_missing_secret_names_its_source_and_never_a_value() {
        let error = setup(&config(
            "url = \"https://h/\"\n[sinks.auth]\nstrategy = \"splunk\"\n\
             token_env = \"OAF_TEST_HTTP_UNSET_TOKEN\"\n",
        ))
        .err()
        .unwrap()
        .to_string();
        assert!(error.contains("OAF_TEST_HTTP_UNSET_TOKEN"), "{error}");
        assert!(error.starts_with("auth:"), "{error}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not a certificate").unwrap();
        let error = setup(&config(&format!(
            "url = \"https://h/\"\n[sinks.tls]\nca_file = \"{}\"\n",
            ca.display()
        )))
        .err()
        .unwrap()
        .to_string();
        assert!(error.starts_with("tls.ca_file:"), "{error}");
    }
}
