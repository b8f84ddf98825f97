//! Users as the service understands them, the checks sign-up input must pass, and the
//! other requests the service takes (log-in, look-up, log-out) in its own terms.

use shippy_common::error::STORE_UNAVAILABLE;
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
/// The longest name or company accepted, in characters (as the API's `maxLength` counts
/// them).
pub const MAX_FIELD_LEN: usize = 256;
/// The longest email accepted (RFC 5321's path limit less its angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;
/// The longest password accepted: long passphrases are welcome, megabytes to hash are not.
pub const MAX_PASSWORD_LEN: usize = 1024;

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
        for (field, value) in [("name", name), ("company", company)] {
            errors.check(
                value.chars().count() <= MAX_FIELD_LEN,
                field,
                FieldCode::TooLong,
                "must be at most 256 characters",
            );
        }
        check_lengths(&mut errors, &email, password);
        errors.finish().map_err(UserError::Invalid)?;
        Ok(Self {
            name: name.to_owned(),
            company: company.trim().to_owned(),
            email,
            password: password.to_owned(),
        })
    }

    /// The user this sign-up makes, with a fresh id (the password goes to be hashed).
    pub fn into_user(self) -> (User, String) {
        let user = User {
            id: uuid::Uuid::new_v4().to_string(),
            name: self.name,
            company: self.company,
            email: self.email,
        };
        (user, self.password)
    }
}

/// An email as the store keeps and compares it.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A log-in attempt: the email as stored, and the password to check.
#[derive(Clone)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

impl Credentials {
    /// A log-in attempt, refused before any work (no throttle entry, no hash) when the email
    /// or the password is longer than any account's can be.
    pub fn parse(email: &str, password: String) -> Result<Self, UserError> {
        let email = normalise_email(email);
        let mut errors = FieldErrors::new();
        check_lengths(&mut errors, &email, &password);
        errors.finish().map_err(UserError::Invalid)?;
        Ok(Self { email, password })
    }
}

/// The caps on an email and a password, checked before anything is done with them.
fn check_lengths(errors: &mut FieldErrors, email: &str, password: &str) {
    errors.check(
        email.chars().count() <= MAX_EMAIL_LEN,
        "email",
        FieldCode::TooLong,
        "must be at most 254 characters",
    );
    errors.check(
        password.chars().count() <= MAX_PASSWORD_LEN,
        "password",
        FieldCode::TooLong,
        "must be at most 1024 characters",
    );
}

/// A signed token for a user, as log-in answers it.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub token: String,
    pub user_id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Which user to look up: by id when one is given, else by email, else the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Id(String),
    Email(String),
    /// Neither given: the one asking (`GET /api/v1/users/me`).
    Caller,
}

impl Lookup {
    pub fn parse(id: &str, email: &str) -> Result<Self, UserError> {
        Ok(match (id.trim(), email.trim()) {
            ("", "") => Lookup::Caller,
            ("", email) => Lookup::Email(normalise_email(email)),
            (id, _) => Lookup::Id(id.to_owned()),
        })
    }

    /// The look-up a user `user_id` (signed in as `email`) may make: only of themselves.
    /// Another user's id or email is refused before any look-up, so the answer says nothing
    /// of whether that user exists.
    pub fn for_user(self, user_id: &str, email: &str) -> Result<Lookup, UserError> {
        match self {
            Lookup::Caller => Ok(Lookup::Id(user_id.to_owned())),
            Lookup::Id(id) if id == user_id => Ok(Lookup::Id(id)),
            Lookup::Email(e) if e == normalise_email(email) => Ok(Lookup::Id(user_id.to_owned())),
            Lookup::Id(_) | Lookup::Email(_) => Err(UserError::OthersPrivate),
        }
    }
}

/// Refuses to revoke a token without an id (`jti`): nothing could recognise it later.
pub fn check_revocable(jti: &str) -> Result<(), UserError> {
    if jti.is_empty() {
        return Err(UserError::invalid(
            "token",
            FieldCode::BadFormat,
            "this token has no id to revoke (a service's, or issued before log-out existed)",
        ));
    }
    Ok(())
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
    #[error("other users' details are private: ask for your own (GET /api/v1/users/me)")]
    OthersPrivate,
    #[error("listing every user is for shippy's own services, not for users")]
    ListingIsForServices,
    #[error("busy checking passwords; retry in {} s", .0.as_secs().max(1))]
    Busy(std::time::Duration),
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

    /// How long a caller refused for now should wait before asking again (`retry-after`).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            UserError::Throttled(wait) | UserError::Busy(wait) => Some(*wait),
            _ => None,
        }
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
            UserError::OthersPrivate | UserError::ListingIsForServices => {
                ErrorKind::PermissionDenied
            }
            UserError::Busy(_) => ErrorKind::Unavailable,
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

    fn public_message(&self) -> Option<String> {
        match self {
            UserError::Store(_) => Some(STORE_UNAVAILABLE.to_owned()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use shippy_common::auth::AuthError;
    use shippy_common::error::testing::{STORE_DETAIL, assert_every_variant_answered_by_the_table};

    /// Which variant `error` is: a new variant fails to compile until it is numbered here,
    /// and then [`every_error_is_answered_in_the_tables_words`] until it is in its list.
    fn variant(error: &UserError) -> u8 {
        match error {
            UserError::Invalid(_) => 0,
            UserError::EmailTaken(_) => 1,
            UserError::NotFound => 2,
            UserError::WrongCredentials => 3,
            UserError::Throttled(_) => 4,
            UserError::OthersPrivate => 5,
            UserError::ListingIsForServices => 6,
            UserError::Busy(_) => 7,
            UserError::Auth(_) => 8,
            UserError::Store(_) => 9,
            UserError::Internal(_) => 10,
        }
    }

    #[test]
    fn every_error_is_answered_in_the_tables_words() {
        let wait = std::time::Duration::from_secs(3);
        let key = AuthError::Key {
            path: "/data/keys/jwt-ed25519.pem".into(),
            reason: "Os { code: 13 }".into(),
        };
        let errors = [
            (
                UserError::invalid("email", FieldCode::TooLong, "too long"),
                "",
            ),
            (UserError::EmailTaken("a@example.com".into()), ""),
            (UserError::NotFound, ""),
            (UserError::WrongCredentials, ""),
            (UserError::Throttled(wait), ""),
            (UserError::OthersPrivate, ""),
            (UserError::ListingIsForServices, ""),
            (UserError::Busy(wait), ""),
            (UserError::Auth(AuthError::Expired), ""),
            (UserError::Auth(AuthError::RevocationsBehind), ""),
            (UserError::Auth(key), "jwt-ed25519"),
            (UserError::Store(STORE_DETAIL.into()), STORE_DETAIL),
            (
                UserError::Internal("hashing failed: memory cost".into()),
                "hashing",
            ),
        ];
        assert_every_variant_answered_by_the_table(&errors, variant, 11);
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
    fn a_look_up_takes_the_id_first_then_the_email_and_with_neither_is_the_caller() {
        assert_eq!(
            Lookup::parse(" u1 ", "a@b.co").unwrap(),
            Lookup::Id("u1".into())
        );
        assert_eq!(
            Lookup::parse("", " A@B.co ").unwrap(),
            Lookup::Email("a@b.co".into())
        );
        assert_eq!(Lookup::parse(" ", "").unwrap(), Lookup::Caller);
    }

    #[test]
    fn a_user_may_look_up_only_themselves() {
        let me = |lookup: Lookup| lookup.for_user("u1", "Ann@B.co");
        for mine in [
            Lookup::Caller,
            Lookup::Id("u1".into()),
            Lookup::Email("ann@b.co".into()),
        ] {
            assert_eq!(me(mine).unwrap(), Lookup::Id("u1".into()));
        }
        for theirs in [Lookup::Id("u2".into()), Lookup::Email("bob@b.co".into())] {
            assert!(matches!(me(theirs), Err(UserError::OthersPrivate)));
        }
    }

    #[test]
    fn a_sign_up_makes_a_user_with_a_fresh_id() {
        let sign_up = SignUp::parse("Ewan", "Acme", "ewan@example.com", "Testing123").unwrap();
        let (a, password) = sign_up.clone().into_user();
        let (b, _) = sign_up.into_user();
        assert_ne!(a.id, b.id);
        assert_eq!(
            (a.email.as_str(), password.as_str()),
            ("ewan@example.com", "Testing123")
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
                    prop_assert!(!ok.name.is_empty() && ok.name.chars().count() <= MAX_FIELD_LEN);
                    prop_assert!(ok.email.contains('@') && ok.email.chars().count() <= MAX_FIELD_LEN);
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
