//! The built-in issuer's ES256 signing key: the file the operator gives every node
//! (`auth.signing_key_file`), or else one generated on first start and kept as PKCS#8 PEM (mode
//! 0600) in the data directory; published as a JWK whose `kid` is its RFC 7638 thumbprint, which
//! is also the fingerprint the database records for every node to match.

use std::io::Write;
use std::path::{Path, PathBuf};

use eps_core::issuer::KeyFingerprint;
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use p256::SecretKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};

/// The key file's name inside the data directory.
pub const KEY_FILE: &str = "token-signing-key.pem";

/// Why the signing key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error("token signing key {path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The file is not a P-256 PKCS#8 PEM key.
    #[error("token signing key {path} is not a P-256 PKCS#8 PEM private key: {reason}")]
    Format {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The private key, its verifying half and its public JWK.
pub struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
    kid: String,
    fingerprint: KeyFingerprint,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Loads the key from `data_dir`, generating and storing one first if there is none.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, KeyError> {
        let path = data_dir.join(KEY_FILE);
        let io = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        let pem = match std::fs::read_to_string(&path) {
            Ok(pem) => pem,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let pem = generate_pem().map_err(|reason| KeyError::Format {
                    path: path.clone(),
                    reason,
                })?;
                write_private(&path, &pem).map_err(io)?;
                tracing::info!(path = %path.display(), "generated a new token signing key");
                pem
            }
            Err(e) => return Err(io(e)),
        };
        Self::from_pem(&pem).map_err(|reason| KeyError::Format { path, reason })
    }

    /// Loads the key the operator provides at `path` (never generated: every node must be given
    /// the same file).
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let pem = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_pem(&pem).map_err(|reason| KeyError::Format {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// The configured key file if there is one, else the data directory's (generated if missing).
    pub fn configured(file: Option<&Path>, data_dir: &Path) -> Result<Self, KeyError> {
        match file {
            Some(file) => Self::load(file),
            None => Self::load_or_create(data_dir),
        }
    }

    /// Builds the key from PKCS#8 PEM text.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        SecretKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())?;
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        let mut jwk =
            Jwk::from_encoding_key(&encoding, Algorithm::ES256).map_err(|e| e.to_string())?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| e.to_string())?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::ES256);
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
        let fingerprint = KeyFingerprint::parse(&kid).map_err(|e| e.to_string())?;
        Ok(Self {
            encoding,
            decoding,
            jwk,
            kid,
            fingerprint,
        })
    }

    /// The key id (RFC 7638 SHA-256 thumbprint).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The fingerprint every node's key must match (the `kid`).
    pub fn fingerprint(&self) -> &KeyFingerprint {
        &self.fingerprint
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// The signing half.
    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The verifying half.
    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }
}

/// A fresh P-256 key as PKCS#8 PEM.
pub fn generate_pem() -> Result<String, String> {
    let key = SecretKey::random(&mut rand::rngs::OsRng);
    key.to_pkcs8_pem(LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|e| e.to_string())
}

/// Writes a new file readable by its owner only.
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(content.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reloaded_with_the_same_kid() {
        let dir = tempfile::tempdir().unwrap();
        let first = SigningKey::load_or_create(dir.path()).unwrap();
        let second = SigningKey::load_or_create(dir.path()).unwrap();
        assert_eq!(first.kid(), second.kid());
        assert_eq!(first.jwk(), second.jwk());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn the_jwk_is_public_and_the_kid_is_its_thumbprint() {
        let key = SigningKey::from_pem(&generate_pem().unwrap()).unwrap();
        let json = serde_json::to_value(key.jwk()).unwrap();
        assert_eq!(json["kty"], "EC");
        assert_eq!(json["crv"], "P-256");
        assert_eq!(json["alg"], "ES256");
        assert_eq!(json["use"], "sig");
        assert!(
            json.get("d").is_none(),
            "private part must not be published"
        );
        let mut bare = key.jwk().clone();
        bare.common = Default::default();
        assert_eq!(bare.thumbprint(ThumbprintHash::SHA256).unwrap(), key.kid());
    }

    #[test]
    fn a_configured_file_is_read_and_never_generated() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("issuer.pem");
        let err = SigningKey::configured(Some(&file), dir.path()).unwrap_err();
        assert!(err.to_string().contains("issuer.pem"), "{err}");
        assert!(!file.exists() && !dir.path().join(KEY_FILE).exists());
        std::fs::write(&file, generate_pem().unwrap()).unwrap();
        let key = SigningKey::configured(Some(&file), dir.path()).unwrap();
        assert_eq!(key.fingerprint().as_str(), key.kid());
        assert!(!dir.path().join(KEY_FILE).exists(), "nothing generated");
    }

    #[test]
    fn a_corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        let err = SigningKey::load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains("PKCS#8"), "{err}");
    }
}
