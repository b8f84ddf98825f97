//! Users as the service understands them, and the checks sign-up input must pass.

use shippy_common::{ErrorKind, KindedError};

/// A user as stored and shown: never with the password or its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub company: String,
    pub email: String,
}

/// A user with the argon2 hash of their password, as the repository keeps them.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub user: User,
    pub password_hash: String,
}

impl std::fmt::Debug for StoredUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredUser")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Sign-up input that passed validation.
#[derive(Clone)]
pub struct SignUp {
    pub name: String,
    pub company: String,
    pub email: String,
    pub password: String,
}

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;
/// The longest name, company, email or password accepted.
pub const MAX_FIELD_LEN: usize = 256;

impl SignUp {
    /// Validates raw input: a name, a plausible email (stored lowercased), a password of at
    /// least [`MIN_PASSWORD_LEN`] characters.
    pub fn parse(
        name: &str,
        company: &str,
        email: &str,
        password: &str,
    ) -> Result<Self, UserError> {
        let name = name.trim();
        let email = email.trim().to_lowercase();
        if name.is_empty() {
            return Err(UserError::invalid("name", "must not be empty"));
        }
        if !is_plausible_email(&email) {
            return Err(UserError::invalid("email", "must look like name@domain"));
        }
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(UserError::invalid(
                "password",
                "must be at least 8 characters",
            ));
        }
        for (field, value) in [
            ("name", name),
            ("company", company),
            ("email", &email),
            ("password", password),
        ] {
            if value.len() > MAX_FIELD_LEN {
                return Err(UserError::invalid(field, "must be at most 256 bytes"));
            }
        }
        Ok(Self {
            name: name.to_owned(),
            company: company.trim().to_owned(),
            email,
            password: password.to_owned(),
        })
    }
}

fn is_plausible_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// What the user service can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("a user with email {0} already exists")]
    EmailTaken(String),
    #[error("user not found")]
    NotFound,
    #[error("invalid email or password")]
    WrongCredentials,
    #[error("too many failed log-ins; try again in {} s", .0.as_secs().max(1))]
    Throttled(std::time::Duration),
    #[error(transparent)]
    Auth(#[from] shippy_common::auth::AuthError),
    #[error("store: {0}")]
    Store(String),
    /// A fault of this process (hashing, randomness): logged, never shown to the caller.
    #[error("internal: {0}")]
    Internal(String),
}

impl UserError {
    pub fn invalid(field: &'static str, reason: &str) -> Self {
        UserError::Invalid {
            field,
            reason: reason.to_owned(),
        }
    }
}

impl KindedError for UserError {
    fn kind(&self) -> ErrorKind {
        match self {
            UserError::Invalid { .. } => ErrorKind::InvalidArgument,
            UserError::EmailTaken(_) => ErrorKind::AlreadyExists,
            UserError::NotFound => ErrorKind::NotFound,
            UserError::WrongCredentials => ErrorKind::Unauthenticated,
            UserError::Throttled(_) => ErrorKind::ResourceExhausted,
            UserError::Auth(e) => e.kind(),
            UserError::Store(_) => ErrorKind::Unavailable,
            UserError::Internal(_) => ErrorKind::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashing_fault_is_internal_and_its_detail_stays_here() {
        let status = shippy_common::error::to_status(&UserError::Internal(
            "hashing failed: memory cost too high".into(),
        ));
        assert_eq!(status.code(), shippy_proto::tonic::Code::Internal);
        assert!(!status.message().contains("hashing"), "{status:?}");
    }

    #[test]
    fn sign_up_normalises_email_and_names_the_bad_field() {
        let ok = SignUp::parse(" Ewan ", "Acme", " Ewan@Example.COM ", "Testing123").unwrap();
        assert_eq!(
            (ok.name.as_str(), ok.email.as_str()),
            ("Ewan", "ewan@example.com")
        );
        let field = |r: Result<SignUp, UserError>| match r {
            Err(UserError::Invalid { field, .. }) => field,
            other => panic!("expected invalid, got {:?}", other.map(|s| s.email)),
        };
        assert_eq!(field(SignUp::parse("", "", "a@b.co", "Testing123")), "name");
        assert_eq!(
            field(SignUp::parse("x", "", "not-an-email", "Testing123")),
            "email"
        );
        assert_eq!(field(SignUp::parse("x", "", "a@b.co", "short")), "password");
        assert_eq!(
            field(SignUp::parse("x", &"c".repeat(300), "a@b.co", "Testing123")),
            "company"
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any input, however long or odd, is accepted within the rules or refused naming a
        /// sign-up field; never a panic.
        #[test]
        fn sign_up_parsing_never_panics_and_names_the_field(
            name in ".{0,300}",
            company in ".{0,300}",
            email in "(.{0,20}@.{0,20}\\.[a-z]{2,3})|.{0,300}",
            password in ".{0,300}",
        ) {
            match SignUp::parse(&name, &company, &email, &password) {
                Ok(ok) => {
                    prop_assert!(!ok.name.is_empty() && ok.name.len() <= MAX_FIELD_LEN);
                    prop_assert!(ok.email.contains('@') && ok.email.len() <= MAX_FIELD_LEN);
                    prop_assert!(ok.password.chars().count() >= MIN_PASSWORD_LEN);
                }
                Err(UserError::Invalid { field, .. }) => {
                    prop_assert!(["name", "company", "email", "password"].contains(&field));
                }
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }
    }
}
