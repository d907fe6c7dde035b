//! The host token: the only thing that opens the panel. Generated at start
//! (or configured), sent as `Authorization: Bearer <token>` or, for the
//! browser page whose WebSocket cannot set headers, as `?token=<token>`.
//! Compared in constant time so response timing does not leak a prefix.

use axum::http::{HeaderMap, header::AUTHORIZATION};
use rand::RngCore;

/// The host's secret.
#[derive(Clone)]
pub struct HostToken(String);

impl std::fmt::Debug for HostToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostToken(…)")
    }
}

impl HostToken {
    /// A fresh token: 32 random bytes from the OS-seeded CSPRNG, in hex.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A configured token.
    pub fn new(token: String) -> Self {
        Self(token)
    }

    /// The token, to print for the host.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the request carries this token in its header or `query_token`.
    pub fn admits(&self, headers: &HeaderMap, query_token: Option<&str>) -> bool {
        let bearer = headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        bearer.or(query_token).is_some_and(|given| self.matches(given))
    }

    /// Constant-time comparison: the time depends on the lengths only.
    fn matches(&self, given: &str) -> bool {
        let (ours, theirs) = (self.0.as_bytes(), given.as_bytes());
        if ours.len() != theirs.len() {
            return false;
        }
        ours.iter().zip(theirs).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn only_the_exact_token_is_admitted() {
        let token = HostToken::new("s3cret".into());
        let none = HeaderMap::new();
        assert!(token.admits(&none, Some("s3cret")));
        for wrong in ["s3cre", "s3cret!", "S3cret", ""] {
            assert!(!token.admits(&none, Some(wrong)), "{wrong}");
        }
        assert!(!token.admits(&none, None));
        let mut bearer = HeaderMap::new();
        bearer.insert(AUTHORIZATION, HeaderValue::from_static("Bearer s3cret"));
        assert!(token.admits(&bearer, None));
        let mut basic = HeaderMap::new();
        basic.insert(AUTHORIZATION, HeaderValue::from_static("Basic s3cret"));
        assert!(!token.admits(&basic, None));
        assert_eq!(HostToken::generate().as_str().len(), 64);
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
