//! Enums whose variants stand for fixed byte codes: exit codes, and what crosses the child's
//! setup channel. [`coded_enum!`](crate::coded_enum) declares one with its codes (and, when
//! asked, a text for each variant), so the numbers, the decoding and the texts are written once,
//! next to each other.

/// Declares a `#[repr(u8)]` enum (`Debug, Clone, Copy, PartialEq, Eq`) and on it:
///
/// - `ALL`: every variant, in the order declared;
/// - `code(self) -> u8` and `from_code(u8) -> Option<Self>` (`None` for a code no variant has);
/// - when each variant is followed by `=> "text"` and the enum by a `fn NAME;` line (with its
///   doc comment), `NAME(self) -> &'static str`, that variant's text, which is also the
///   variant's documentation.
///
/// A code is written (`= 130`) where the number is a contract, as an exit code is; a variant
/// without one takes the next number after the variant before it, as in any Rust enum, which
/// suits codes that only cross a channel between two halves of one binary. Doc comments and
/// other attributes on the enum and its variants are kept.
///
/// ```
/// runner::coded_enum! {
///     /// What a light shows.
///     pub enum Light {
///         Green = 1 => "go",
///         Amber => "slow down",
///         Red = 7 => "stop",
///     }
///     /// What the driver does.
///     pub fn meaning;
/// }
/// assert_eq!(Light::from_code(2), Some(Light::Amber));
/// assert_eq!(Light::from_code(3), None);
/// assert_eq!(Light::Red.code(), 7);
/// assert_eq!(Light::ALL.map(Light::meaning), ["go", "slow down", "stop"]);
/// ```
#[macro_export]
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident $(= $code:literal)? => $text:expr ),+ $(,)?
        }
        $(#[$fmeta:meta])*
        $fvis:vis fn $text_fn:ident;
    ) => {
        $crate::coded_enum! {
            $(#[$meta])*
            $vis enum $name {
                $( $(#[$vmeta])* #[doc = $text] $variant $(= $code)? ),+
            }
        }

        impl $name {
            $(#[$fmeta])*
            $fvis const fn $text_fn(self) -> &'static str {
                match self {
                    $( Self::$variant => $text ),+
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident $(= $code:literal)? ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant $(= $code)? ),+
        }

        impl $name {
            /// Every variant, in the order declared.
            pub const ALL: [Self; [$($name::$variant),+].len()] = [$(Self::$variant),+];

            /// The variant's code.
            pub const fn code(self) -> u8 {
                self as u8
            }

            /// The variant whose code is `code`, if one is.
            pub const fn from_code(code: u8) -> Option<Self> {
                let mut at = 0;
                while at < Self::ALL.len() {
                    if Self::ALL[at].code() == code {
                        return Some(Self::ALL[at]);
                    }
                    at += 1;
                }
                None
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::coded_enum! {
        enum Plain {
            A = 0,
            B = 7,
            C = 255,
        }
    }

    crate::coded_enum! {
        enum Counted {
            A = 3,
            B,
            C = 9,
            D,
        }
    }

    /// Every code decodes to its variant, and no other byte decodes.
    fn decodes_exactly(codes: &[u8], from_code: impl Fn(u8) -> Option<u8>) {
        for &c in codes {
            assert_eq!(from_code(c), Some(c));
        }
        for c in (0..=u8::MAX).filter(|c| !codes.contains(c)) {
            assert_eq!(from_code(c), None, "{c}");
        }
    }

    #[test]
    fn written_codes_are_the_codes() {
        let codes = Plain::ALL.map(Plain::code);
        assert_eq!(codes, [0, 7, 255]);
        decodes_exactly(&codes, |c| Plain::from_code(c).map(Plain::code));
    }

    #[test]
    fn an_unwritten_code_follows_the_one_before() {
        let codes = Counted::ALL.map(Counted::code);
        assert_eq!(codes, [3, 4, 9, 10]);
        decodes_exactly(&codes, |c| Counted::from_code(c).map(Counted::code));
    }
}
