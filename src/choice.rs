//! Options with a fixed set of values ([`Choice`]), named as the CLI and the Python module
//! take them: the library decides the names and what each value means, the front ends only
//! show them (the CLI's `--layout stack`, Python's `layout="stack"`). A leaf: it knows
//! nothing of the rest of the crate.

/// An option with a fixed set of values, each with its name and a line of help.
pub trait Choice: Copy + Eq + Send + Sync + 'static {
    /// Every value, the default first.
    const ALL: &'static [Self];

    /// The name, as `--layout stack` and `layout="stack"` give it.
    fn name(self) -> &'static str;

    /// What the value does, in a line (the CLI's help lists it).
    fn help(self) -> &'static str;

    /// The value named `text` (ASCII case ignored); the error lists the names.
    fn from_name(text: &str) -> Result<Self, String> {
        let found = Self::ALL
            .iter()
            .find(|v| v.name().eq_ignore_ascii_case(text));
        found.copied().ok_or_else(|| {
            let names: Vec<String> = Self::ALL
                .iter()
                .map(|v| format!("{:?}", v.name()))
                .collect();
            format!("{text:?}: expected one of {}", names.join(", "))
        })
    }
}

/// Declares an enum whose variants are the values of a [`Choice`]: each variant with its doc
/// (its help) and its name; the first is the default.
macro_rules! choice {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[doc = $doc:literal])+ $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl $crate::choice::Choice for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];

            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            fn help(self) -> &'static str {
                match self {
                    $($name::$variant => concat!($($doc),+).trim(),)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                <$name as $crate::choice::Choice>::ALL[0]
            }
        }

        impl $name {
            /// The value's name, as the CLI and the Python module take it.
            pub fn name(self) -> &'static str {
                <$name as $crate::choice::Choice>::name(self)
            }
        }
    };
}
pub(crate) use choice;

#[cfg(test)]
mod tests {
    use super::*;

    choice! {
        /// A test choice.
        pub enum Shade {
            /// The first: the default.
            Light = "light",
            /// Two lines
            /// of help.
            Dark = "dark",
        }
    }

    #[test]
    fn names_parse_and_help_reads() {
        assert_eq!(Shade::default(), Shade::Light);
        assert_eq!(Shade::from_name("DARK"), Ok(Shade::Dark));
        let error = Shade::from_name("grey").unwrap_err();
        assert_eq!(error, "\"grey\": expected one of \"light\", \"dark\"");
        assert_eq!(Shade::Dark.help(), "Two lines of help.");
        assert_eq!(Shade::Light.name(), "light");
    }
}
