//! The Own API client: the access token refresher ([`auth`]) and the events endpoint
//! ([`events`]).

pub mod auth;
pub mod events;
mod split;

mod token_state;

/// The most events the API returns in one page; a shorter page means "caught up".
pub const PAGE_LIMIT: usize = 1000;

/// The largest events page read; a bigger answer is refused rather than held in memory.
pub const MAX_PAGE_BYTES: usize = 256 * 1024 * 1024;
/// The largest error or token response read.
pub const MAX_SMALL_BODY: usize = 64 * 1024;

/// The HTTP client shared by a source's token and events requests.
///
/// Redirects are not followed: Own's API does not redirect, and following one would
/// send a token request's body (the API token) to whatever host it names.
pub fn http_client(timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
        .user_agent(concat!("own-audit-forwarder/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Why a body could not be read whole.
#[derive(Debug)]
pub(crate) enum BodyError {
    TooLarge(usize),
    Broken(String),
}

/// Reads a response body, refusing one longer than `limit` bytes.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BodyError::Broken(auth::without_url(&e)))?
    {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A redirect's target, for the error that says it was not followed.
pub(crate) fn redirect_target(response: &reqwest::Response) -> String {
    let location = response.headers().get(reqwest::header::LOCATION);
    location
        .and_then(|l| l.to_str().ok())
        .map(excerpt)
        .unwrap_or_else(|| "nowhere".into())
}

pub(crate) use crate::sinks::util::excerpt;
