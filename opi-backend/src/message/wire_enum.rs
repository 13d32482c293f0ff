//! A macro for OPI enumerations whose unknown values are kept, never refused.

/// Declares an enum of known OPI wire names plus `Other(String)`.
///
/// `parse` compares case-insensitively (terminals differ in casing, e.g. `Loggedout`) and also
/// accepts the listed aliases; `as_str` gives the spelling we write. `Other` holds any value that
/// matches no known name, exactly as sent.
macro_rules! wire_enum {
    (
        $(#[$doc:meta])*
        $name:ident {
            $(
                $(#[$vdoc:meta])*
                $variant:ident = $wire:literal $(| $alias:literal)*
            ),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $(
                $(#[$vdoc])*
                $variant,
            )+
            /// A value this crate does not know, kept as sent.
            Other(String),
        }

        impl $name {
            /// Every known value, in declaration order.
            pub const KNOWN: &'static [Self] = &[$(Self::$variant),+];

            /// Reads a wire value: case-insensitive, aliases accepted, anything else is `Other`.
            pub fn parse(value: &str) -> Self {
                $(
                    if value.eq_ignore_ascii_case($wire)
                        $(|| value.eq_ignore_ascii_case($alias))*
                    {
                        return Self::$variant;
                    }
                )+
                Self::Other(value.to_owned())
            }

            /// The value as written on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Other(value) => value,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::parse(value)
            }
        }
    };
}

pub(crate) use wire_enum;
