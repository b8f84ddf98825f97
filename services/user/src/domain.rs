//! Users as the service understands them, and the checks sign-up input must pass.

use shippy_common::{ErrorKind, FieldCode, FieldErrors, KindedError};

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
        let mut errors = FieldErrors::new();
        errors.check(
            !name.is_empty(),
            "name",
            FieldCode::Required,
            "must not be empty",
        );
        if email.is_empty() {
            errors.add("email", FieldCode::Required, "must not be empty");
        }
        errors.check(
            is_plausible_email(&email),
            "email",
            FieldCode::BadFormat,
            "must look like name@domain",
        );
        if password.is_empty() {
            errors.add("password", FieldCode::Required, "must not be empty");
        }
        errors.check(
            password.chars().count() >= MIN_PASSWORD_LEN,
            "password",
            FieldCode::TooSmall,
            "must be at least 8 characters",
        );
        for (field, value) in [
            ("name", name),
            ("company", company),
            ("email", &email),
            ("password", password),
        ] {
            errors.check(
                value.len() <= MAX_FIELD_LEN,
                field,
                FieldCode::TooLong,
                "must be at most 256 bytes",
            );
        }
        errors.finish().map_err(UserError::Invalid)?;
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
    /// Every field the input got wrong.
    #[error("{0}")]
    Invalid(FieldErrors),
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
    pub fn invalid(field: &'static str, code: FieldCode, reason: &str) -> Self {
        UserError::Invalid(FieldErrors::one(field, code, reason))
    }
}

impl KindedError for UserError {
    fn kind(&self) -> ErrorKind {
        match self {
            UserError::Invalid(_) => ErrorKind::InvalidArgument,
            UserError::EmailTaken(_) => ErrorKind::AlreadyExists,
            UserError::NotFound => ErrorKind::NotFound,
            UserError::WrongCredentials => ErrorKind::Unauthenticated,
            UserError::Throttled(_) => ErrorKind::ResourceExhausted,
            UserError::Auth(e) => e.kind(),
            UserError::Store(_) => ErrorKind::Unavailable,
            UserError::Internal(_) => ErrorKind::Internal,
        }
    }

    fn fields(&self) -> Option<&FieldErrors> {
        match self {
            UserError::Invalid(fields) => Some(fields),
            _ => None,
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
        let fields = |r: Result<SignUp, UserError>| match r {
            Err(UserError::Invalid(errors)) => errors
                .iter()
                .map(|e| format!("{} {}", e.field, e.code.as_str()))
                .collect::<Vec<_>>(),
            other => panic!("expected invalid, got {:?}", other.map(|s| s.email)),
        };
        assert_eq!(
            fields(SignUp::parse("", "", "a@b.co", "Testing123")),
            ["name required"]
        );
        assert_eq!(
            fields(SignUp::parse("x", "", "not-an-email", "Testing123")),
            ["email bad_format"]
        );
        assert_eq!(
            fields(SignUp::parse("x", "", "a@b.co", "short")),
            ["password too_small"]
        );
        assert_eq!(
            fields(SignUp::parse("x", &"c".repeat(300), "a@b.co", "Testing123")),
            ["company too_long"]
        );
    }

    #[test]
    fn an_empty_sign_up_names_every_field_it_needs_at_once() {
        let Err(UserError::Invalid(errors)) = SignUp::parse(" ", "", "", "") else {
            panic!("an empty sign-up was accepted");
        };
        assert_eq!(errors.names(), ["name", "email", "password"]);
        assert!(errors.iter().all(|e| e.code == FieldCode::Required));
        assert_eq!(
            errors.to_string(),
            "name: must not be empty; email: must not be empty; password: must not be empty"
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
                Err(UserError::Invalid(errors)) => {
                    prop_assert!(!errors.is_empty());
                    for field in errors.names() {
                        prop_assert!(["name", "company", "email", "password"].contains(&field));
                    }
                }
                Err(other) => prop_assert!(false, "unexpected {other}"),
            }
        }
    }
}
