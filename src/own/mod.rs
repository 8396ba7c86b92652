//! The Own API client: the access token refresher ([`auth`]) and the events endpoint
//! ([`events`]).

pub mod auth;
pub mod events;

mod token_state;

/// The most events the API returns in one page; a shorter page means "caught up".
pub const PAGE_LIMIT: usize = 1000;

/// The HTTP client shared by a source's token and events requests.
pub fn http_client(timeout: std::time::Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(std::time::Duration::from_secs(10)))
        .user_agent(concat!("own-audit-forwarder/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// A short, single-line excerpt of a response body for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    excerpt_str(&String::from_utf8_lossy(body))
}

/// A short, single-line excerpt of a text for error messages.
pub(crate) fn excerpt_str(text: &str) -> String {
    let mut line: String = text
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > 200 {
        line.push('…');
    }
    line
}
