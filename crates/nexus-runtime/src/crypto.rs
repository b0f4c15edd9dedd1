//! Encryption of connection tokens at rest: ChaCha20-Poly1305 with a 256-bit key from the
//! configuration and a random 96-bit nonce per seal. The sealed form is `v1` (1 byte, `0x01`) +
//! nonce (12 bytes) + ciphertext and tag; stores only ever see it, so the token bytes never reach
//! a database file in clear.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use nexus_core::{Error, ErrorKind, Result};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// OAuth tokens of a connection, in clear. `Debug` never prints them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Access token.
    pub access_token: String,
    /// Refresh token.
    pub refresh_token: Option<String>,
    /// When the access token expires, epoch ms.
    pub expires_at: Option<i64>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Seals and opens [`Tokens`] with the configured key. `Debug` never prints the key.
#[derive(Clone)]
pub struct TokenCipher {
    cipher: ChaCha20Poly1305,
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCipher(<key redacted>)")
    }
}

impl TokenCipher {
    /// A cipher with a 32-byte key.
    pub fn new(key: &[u8; 32]) -> TokenCipher {
        TokenCipher {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// A cipher from a key written as base64 (standard alphabet) or 64 hex digits.
    pub fn from_encoded(encoded: &str) -> Result<TokenCipher> {
        Ok(TokenCipher::new(&decode_key(encoded)?))
    }

    /// A fresh random key, base64-encoded (what `nexus.toml` holds).
    pub fn generate_key() -> String {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    /// Encrypts arbitrary bytes.
    pub fn seal_bytes(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .map_err(|_| Error::new(ErrorKind::Internal, "token encryption failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypts what [`TokenCipher::seal_bytes`] produced; a wrong key or tampered bytes is a
    /// `Config` error (the configured key does not match the store).
    pub fn open_bytes(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        let (version, rest) = sealed
            .split_first()
            .ok_or_else(|| Error::new(ErrorKind::Storage, "sealed tokens are empty"))?;
        if *version != VERSION || rest.len() < NONCE_LEN {
            return Err(Error::new(
                ErrorKind::Storage,
                "sealed tokens have an unknown format",
            ));
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| {
                Error::new(
                    ErrorKind::Config,
                    "could not decrypt connection tokens: the encryption key does not match the one they were sealed with",
                )
            })
    }

    /// Seals tokens.
    pub fn seal(&self, tokens: &Tokens) -> Result<Vec<u8>> {
        let json = serde_json::to_vec(tokens).map_err(|e| {
            Error::new(ErrorKind::Internal, "could not serialize tokens").with_source(e)
        })?;
        self.seal_bytes(&json)
    }

    /// Opens sealed tokens.
    pub fn open(&self, sealed: &[u8]) -> Result<Tokens> {
        let json = self.open_bytes(sealed)?;
        serde_json::from_slice(&json).map_err(|e| {
            Error::new(ErrorKind::Storage, "sealed tokens are not valid").with_source(e)
        })
    }
}

/// Decodes a 32-byte key from base64 or hex.
pub fn decode_key(encoded: &str) -> Result<[u8; 32]> {
    let encoded = encoded.trim();
    let bytes = if encoded.len() == 64 && encoded.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(encoded).ok()
    } else {
        STANDARD.decode(encoded).ok()
    };
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "encryption_key must be 32 bytes written as base64 or 64 hex digits",
            )
            .with_field("encryption_key")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens {
            access_token: "fake-access-token-123".into(),
            refresh_token: Some("fake-refresh-token-456".into()),
            expires_at: Some(1_700_000_000_000),
        }
    }

    #[test]
    fn seal_open_round_trip_and_ciphertext_hides_the_token() {
        let c = TokenCipher::from_encoded(&TokenCipher::generate_key()).unwrap();
        let sealed = c.seal(&tokens()).unwrap();
        let needle = b"fake-access-token-123";
        assert!(!sealed.windows(needle.len()).any(|w| w == needle));
        assert_eq!(c.open(&sealed).unwrap(), tokens());
        // Random nonce: two seals differ.
        assert_ne!(c.seal(&tokens()).unwrap(), sealed);
    }

    #[test]
    fn wrong_key_and_tampering_are_refused() {
        let a = TokenCipher::new(&[1; 32]);
        let b = TokenCipher::new(&[2; 32]);
        let mut sealed = a.seal(&tokens()).unwrap();
        assert_eq!(b.open(&sealed).unwrap_err().kind(), ErrorKind::Config);
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(a.open(&sealed).is_err());
        assert!(a.open(&[]).is_err());
        assert!(a.open(&[9, 1, 2]).is_err());
    }

    #[test]
    fn keys_decode_from_base64_and_hex_only_at_32_bytes() {
        assert!(decode_key(&"ab".repeat(32)).is_ok());
        assert!(decode_key(&TokenCipher::generate_key()).is_ok());
        assert!(decode_key("c2hvcnQ=").is_err());
        assert!(decode_key("not a key").is_err());
        assert!(!format!("{:?}", TokenCipher::new(&[7; 32])).contains('7'));
        assert!(!format!("{:?}", tokens()).contains("fake-access"));
    }
}
