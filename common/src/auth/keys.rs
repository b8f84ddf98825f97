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
pub fn write_key_pair(pair: &KeyPair, private: &Path, public: &Path) -> anyhow::Result<()> {
    for file in [private, public] {
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)?;
            set_mode(dir, 0o700)?;
        }
    }
    write_with_mode(private, pair.private_pem.as_bytes(), 0o600)?;
    write_with_mode(public, pair.public_pem.as_bytes(), 0o644)?;
    Ok(())
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)?;
        file.write_all(bytes)?;
        set_mode(path, mode)?;
    }
    #[cfg(not(unix))]
    std::fs::write(path, bytes)?;
    Ok(())
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
