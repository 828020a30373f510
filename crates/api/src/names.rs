//! The closed sets of the wire (registration types, register types, CI systems) as stored
//! text: one spelling each, and an error naming the field and the values allowed for anything
//! else. Nothing here guesses: an unknown value is an error, never a default.

use crate::{ArtifactRegisterType, ArtifactType, CiMode, CiSystem, RegistrationType, Strategy};
use std::fmt;

/// A value outside a closed set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub field: &'static str,
    pub value: String,
    pub allowed: &'static [&'static str],
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` '{}' is not one of {}",
            self.field,
            self.value,
            self.allowed.join(", ")
        )
    }
}

impl std::error::Error for UnknownValue {}

/// A closed set spelled as text on the wire and in the store.
pub trait ClosedSet: Sized + Copy + 'static {
    /// The field the value usually sits in, for errors.
    const FIELD: &'static str;
    const ALL: &'static [Self];
    const NAMES: &'static [&'static str];

    /// The one spelling of the value.
    fn name(self) -> &'static str;

    /// The value spelled exactly `text`, or an error naming the field and the choices.
    fn from_name(text: &str) -> Result<Self, UnknownValue> {
        Self::NAMES
            .iter()
            .position(|name| *name == text)
            .map(|at| Self::ALL[at])
            .ok_or_else(|| UnknownValue {
                field: Self::FIELD,
                value: text.to_string(),
                allowed: Self::NAMES,
            })
    }
}

macro_rules! closed_set {
    ($type:ty, $field:literal, [$($variant:ident => $name:literal),+ $(,)?]) => {
        impl ClosedSet for $type {
            const FIELD: &'static str = $field;
            const ALL: &'static [Self] = &[$(<$type>::$variant),+];
            const NAMES: &'static [&'static str] = &[$($name),+];

            fn name(self) -> &'static str {
                match self {
                    $(<$type>::$variant => $name),+
                }
            }
        }

        impl TryFrom<String> for $type {
            type Error = UnknownValue;

            fn try_from(text: String) -> Result<Self, UnknownValue> {
                <$type as ClosedSet>::from_name(&text)
            }
        }

        impl std::str::FromStr for $type {
            type Err = UnknownValue;

            fn from_str(text: &str) -> Result<Self, UnknownValue> {
                <$type as ClosedSet>::from_name(text)
            }
        }
    };
}

closed_set!(RegistrationType, "registrationType", [
    Environment => "ENVIRONMENT",
    ReleaseStream => "RELEASE_STREAM",
    Hybrid => "HYBRID",
]);

closed_set!(ArtifactRegisterType, "artifactRegisterType", [
    GitRef => "GIT_REF",
    Environment => "ENVIRONMENT",
    ReleaseStream => "RELEASE_STREAM",
]);

closed_set!(CiMode, "mode", [
    None => "NONE",
    Inherited => "INHERITED",
    Custom => "CUSTOM",
]);

closed_set!(CiSystem, "ciSystem", [
    BranchPerEnvironment => "BRANCH_PER_ENVIRONMENT",
    SingleBranchPromotion => "SINGLE_BRANCH_PROMOTION",
    Advanced => "ADVANCED",
]);

closed_set!(Strategy, "strategy", [
    Project => "project",
    Service => "service",
    Manual => "manual",
]);

closed_set!(ArtifactType, "artifactType", [
    DockerImage => "docker_image",
    Freestyle => "freestyle",
]);

/// Stores a [`ClosedSet`] as its name in a TEXT column of SQLite and PostgreSQL; reading any
/// other text is an error naming the field. Expands in the calling crate, which must depend on
/// `sqlx` with both databases (the `sqlx` feature of this crate does it for its own sets).
#[macro_export]
macro_rules! stored_as_text {
    ($type:ty) => {
        $crate::stored_as_text!(@on $type, ::sqlx::Sqlite);
        $crate::stored_as_text!(@on $type, ::sqlx::Postgres);
    };
    (@on $type:ty, $db:ty) => {
        impl ::sqlx::Type<$db> for $type {
            fn type_info() -> <$db as ::sqlx::Database>::TypeInfo {
                <str as ::sqlx::Type<$db>>::type_info()
            }

            fn compatible(ty: &<$db as ::sqlx::Database>::TypeInfo) -> bool {
                <str as ::sqlx::Type<$db>>::compatible(ty)
            }
        }

        impl<'q> ::sqlx::Encode<'q, $db> for $type {
            fn encode_by_ref(
                &self,
                buf: &mut <$db as ::sqlx::Database>::ArgumentBuffer,
            ) -> Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                <&'static str as ::sqlx::Encode<'q, $db>>::encode(
                    <$type as $crate::ClosedSet>::name(*self),
                    buf,
                )
            }
        }

        impl<'r> ::sqlx::Decode<'r, $db> for $type {
            fn decode(
                value: <$db as ::sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, ::sqlx::error::BoxDynError> {
                let text = <&str as ::sqlx::Decode<'r, $db>>::decode(value)?;
                Ok(<$type as $crate::ClosedSet>::from_name(text)?)
            }
        }
    };
}

#[cfg(feature = "sqlx")]
mod stored {
    use crate::{ArtifactRegisterType, ArtifactType, CiMode, CiSystem, RegistrationType};

    stored_as_text!(ArtifactType);
    stored_as_text!(RegistrationType);
    stored_as_text!(ArtifactRegisterType);
    stored_as_text!(CiMode);
    stored_as_text!(CiSystem);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for kind in RegistrationType::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json.as_str(), Some(kind.name()));
            assert_eq!(kind.name().parse::<RegistrationType>().unwrap(), *kind);
        }
        for system in CiSystem::ALL {
            let json = serde_json::to_value(system).unwrap();
            assert_eq!(json.as_str(), Some(system.name()));
        }
        for kind in ArtifactRegisterType::ALL {
            assert_eq!(kind.name(), kind.as_str());
        }
    }

    #[test]
    fn unknown_values_name_the_field_and_the_choices() {
        let error = "CLUSTER".parse::<RegistrationType>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "`registrationType` 'CLUSTER' is not one of ENVIRONMENT, RELEASE_STREAM, HYBRID"
        );
        assert!("environment".parse::<RegistrationType>().is_err());
    }
}
