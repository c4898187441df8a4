//! Enums whose variants stand for fixed byte codes: exit codes, and what crosses the child's
//! setup channel. [`coded_enum!`](crate::coded_enum) declares one with its codes (and, when
//! asked, a text for each variant), so the numbers, the decoding and the texts are written once,
//! next to each other.

/// Declares a `#[repr(u8)]` enum (`Debug, Clone, Copy, PartialEq, Eq`) with an explicit code
/// for each variant, and on it:
///
/// - `ALL`: every variant, in the order declared;
/// - `code(self) -> u8` and `from_code(u8) -> Option<Self>` (`None` for a code no variant has);
/// - when each variant is followed by `=> "text"` and the enum by a `fn NAME;` line (with its
///   doc comment), `NAME(self) -> &'static str`, that variant's text.
///
/// Doc comments and other attributes on the enum and its variants are kept.
///
/// ```
/// runner::coded_enum! {
///     /// What a light shows.
///     pub enum Light {
///         /// Go.
///         Green = 1 => "go",
///         Red = 3 => "stop",
///     }
///     /// What the driver does.
///     pub fn meaning;
/// }
/// assert_eq!(Light::from_code(3), Some(Light::Red));
/// assert_eq!(Light::from_code(2), None);
/// assert_eq!(Light::Green.code(), 1);
/// assert_eq!(Light::ALL.map(Light::meaning), ["go", "stop"]);
/// ```
#[macro_export]
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $text:expr ),+ $(,)?
        }
        $(#[$fmeta:meta])*
        $fvis:vis fn $text_fn:ident;
    ) => {
        $crate::coded_enum! {
            $(#[$meta])*
            $vis enum $name {
                $( $(#[$vmeta])* $variant = $code ),+
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
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant = $code ),+
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
                match code {
                    $( $code => Some(Self::$variant), )+
                    _ => None,
                }
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

    #[test]
    fn every_code_decodes_to_its_variant_and_no_other_code_decodes() {
        for v in Plain::ALL {
            assert_eq!(Plain::from_code(v.code()), Some(v));
        }
        let codes: Vec<u8> = Plain::ALL.map(Plain::code).to_vec();
        assert_eq!(codes, [0, 7, 255]);
        for c in (0..=u8::MAX).filter(|c| !codes.contains(c)) {
            assert_eq!(Plain::from_code(c), None, "{c}");
        }
    }
}
