//! The mock's signing keys: 2048-bit RSA made by aws-lc-rs, signing RS256 through jsonwebtoken,
//! each with a UUID `kid` as real keys have. Its own file: the state (`state.rs`) holds keys, the
//! forged-token helpers (`crate::testkit::tokens`) make foreign ones.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde_json::{Value, json};

pub(super) fn uuid() -> String {
    let b: [u8; 16] = rand::random();
    let h = |r: std::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!(
        "{}-{}-{}-{}-{}",
        h(0..4),
        h(4..6),
        h(6..8),
        h(8..10),
        h(10..16)
    )
}

/// A 2048-bit RSA key with its `kid`, made by aws-lc-rs, signing RS256 through jsonwebtoken.
///
/// Public for the forged-token helpers ([`crate::testkit::tokens`]): a *foreign* key signs a
/// token under a kid the mock publishes, and the public halves feed the HS256 confusion attack.
/// The private half never leaves this struct (no accessor, and `Debug` shows the kid only).
pub struct JwtKey {
    pub(super) kid: String,
    encoding: EncodingKey,
    /// Modulus and exponent, base64url without padding (JWK `n`, `e`).
    n: String,
    e: String,
    /// The public key as a SubjectPublicKeyInfo DER (the body of a `BEGIN PUBLIC KEY` PEM).
    spki_der: Vec<u8>,
    /// The public key as a PKCS#1 `RSAPublicKey` DER (what jsonwebtoken keeps from an RSA PEM).
    pkcs1_der: Vec<u8>,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKey").field("kid", &self.kid).finish()
    }
}

fn io_err(what: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("{what}: {e}"))
}

impl JwtKey {
    /// A new 2048-bit key with a random kid (a UUID, as real kids).
    ///
    /// # Errors
    /// When aws-lc cannot generate or encode the key (an `io::Error` of kind `Other`).
    pub fn generate() -> std::io::Result<JwtKey> {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|e| io_err("RSA key generation", e))?;
        // aws-lc-rs hands out PKCS#8; jsonwebtoken's PEM reader takes PKCS#8 and keeps the inner
        // PKCS#1 key, which is what its aws_lc_rs signer parses.
        let pkcs8 = pair.as_der().map_err(|e| io_err("PKCS#8 encoding", e))?;
        let encoding = EncodingKey::from_rsa_pem(
            crate::keys::pem("PRIVATE KEY", "", pkcs8.as_ref()).as_bytes(),
        )
        .map_err(|e| io_err("jsonwebtoken key", e))?;
        let public = pair.public_key();
        let parts = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(public);
        let spki_der = public
            .as_der()
            .map_err(|e| io_err("SPKI encoding", e))?
            .as_ref()
            .to_vec();
        Ok(JwtKey {
            kid: uuid(),
            encoding,
            n: URL_SAFE_NO_PAD.encode(&parts.n),
            e: URL_SAFE_NO_PAD.encode(&parts.e),
            spki_der,
            pkcs1_der: public.as_ref().to_vec(),
        })
    }

    /// The key's id (the JWT header's `kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as a JWKS entry: `{"kid","kty":"RSA","alg":"RS256","use":"sig","n","e"}`.
    pub fn jwk(&self) -> Value {
        json!({"kid": self.kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": self.n, "e": self.e})
    }

    /// An RS256 JWT of `claims` with header `{"alg":"RS256","kid": kid}` (no `typ`, as real
    /// tokens). `kid` need not be this key's own (a forged token uses another key's kid).
    ///
    /// # Panics
    /// Never for a key made by [`JwtKey::generate`] and JSON claims (jsonwebtoken fails only on
    /// a key it cannot parse or claims it cannot serialise).
    pub fn sign(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = None;
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .expect("RS256 with a key aws-lc generated")
    }

    /// The public key as `-----BEGIN PUBLIC KEY-----` PEM text (SubjectPublicKeyInfo).
    pub fn public_key_pem(&self) -> String {
        crate::keys::pem("PUBLIC KEY", "", &self.spki_der)
    }

    /// The public key as SubjectPublicKeyInfo DER.
    pub fn public_key_spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The public key as PKCS#1 `RSAPublicKey` DER.
    pub fn public_key_pkcs1_der(&self) -> &[u8] {
        &self.pkcs1_der
    }

    pub(super) fn decoding_key(&self) -> Option<DecodingKey> {
        DecodingKey::from_rsa_components(&self.n, &self.e).ok()
    }
}
