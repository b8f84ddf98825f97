//! Ed25519 key pairs for token signing, generated at `make init` (or by tests) and written
//! with owner-only permissions.

use std::path::Path;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};

/// A private key (PKCS#8 PEM) and its public key (SPKI PEM).
#[derive(Clone)]
pub struct KeyPair {
    pub private_pem: String,
    pub public_pem: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("private_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The public half of the private key `private_pem` (PKCS#8 PEM), as SPKI PEM.
pub fn public_of(private_pem: &str) -> anyhow::Result<String> {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let signing = SigningKey::from_pkcs8_pem(private_pem)
        .map_err(|e| anyhow::anyhow!("decode private key: {e}"))?;
    signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encode public key: {e}"))
}

/// The id (`kid`) of the public key `public_pem`: the first 16 hex digits of the SHA-256 of
/// its 32 bytes, so every process derives the same id from the same key.
pub fn key_id(public_pem: &str) -> anyhow::Result<String> {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(raw_public(public_pem)?);
    Ok(digest[..8].iter().map(|b| format!("{b:02x}")).collect())
}

/// The public key `public_pem` as a JSON Web Key (RFC 8037: `OKP`, `Ed25519`), with its id.
pub fn jwk(public_pem: &str) -> anyhow::Result<serde_json::Value> {
    use base64::Engine;
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw_public(public_pem)?);
    Ok(serde_json::json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": key_id(public_pem)?,
        "x": x,
    }))
}

fn raw_public(public_pem: &str) -> anyhow::Result<[u8; 32]> {
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let key = ed25519_dalek::VerifyingKey::from_public_key_pem(public_pem)
        .map_err(|e| anyhow::anyhow!("decode public key: {e}"))?;
    Ok(key.to_bytes())
}

/// A fresh key pair from the operating system's random source.
pub fn generate_key_pair() -> anyhow::Result<KeyPair> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let signing = SigningKey::from_bytes(&seed);
    let private_pem = signing
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encode private key: {e}"))?
        .to_string();
    let public_pem = signing
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("encode public key: {e}"))?;
    Ok(KeyPair {
        private_pem,
        public_pem,
    })
}

/// Writes `pair` to `private` (mode 0600) and `public` (0644), creating the folder (0700).
/// Each file is written whole under a temporary name created with its final mode, then
/// linked into place, which fails if a file is there already: a key is never overwritten,
/// never seen half written, and the private key is never readable by others, not even for a
/// moment.
pub fn write_key_pair(pair: &KeyPair, private: &Path, public: &Path) -> anyhow::Result<()> {
    for file in [private, public] {
        if file.exists() {
            anyhow::bail!("{} exists: a key is never overwritten", file.display());
        }
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
            set_mode(dir, 0o700)?;
        }
    }
    write_new(private, pair.private_pem.as_bytes(), 0o600)?;
    write_new(public, pair.public_pem.as_bytes(), 0o644)?;
    Ok(())
}

/// Writes `bytes` to a new file `path` of mode `mode`, atomically; an error if `path`
/// exists.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    let written = (|| -> anyhow::Result<()> {
        let mut file = options.open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        set_mode(&temporary, mode)?;
        // A hard link, unlike a rename, refuses to replace what is there.
        std::fs::hard_link(&temporary, path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(())
    })();
    let _ = std::fs::remove_file(&temporary);
    written
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_pair_is_written_owner_only_and_never_over_an_existing_key() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = (
            dir.path().join("k/jwt.pem"),
            dir.path().join("k/jwt.pub.pem"),
        );
        let pair = generate_key_pair().unwrap();
        write_key_pair(&pair, &private, &public).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&private), 0o600);
            assert_eq!(mode(&public), 0o644);
            assert_eq!(mode(private.parent().unwrap()), 0o700);
        }
        assert_eq!(std::fs::read_to_string(&private).unwrap(), pair.private_pem);
        let again = write_key_pair(&generate_key_pair().unwrap(), &private, &public);
        assert!(again.unwrap_err().to_string().contains("never overwritten"));
        assert_eq!(
            std::fs::read_to_string(&private).unwrap(),
            pair.private_pem,
            "the first key stands"
        );
        let left: Vec<_> = std::fs::read_dir(private.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "no temporary file left: {left:?}");
    }
}
