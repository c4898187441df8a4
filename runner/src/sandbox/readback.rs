//! The read-back: after its last hardening step and just before exec, the child reads what the
//! kernel says it applied (`/proc/self/status`, and a probe of the confinement: a path Landlock
//! must refuse, or one that must be absent from the `namespaces` root),
//! checks it, and sends it to the supervisor over the setup pipe as one fixed-size record. The
//! report's `enforced` section is filled from that record, not inferred from the absence of a
//! failure; a mismatch is `sandbox_error` and the program does not run.
//!
//! Everything here that the child calls works on stack buffers and allocates nothing.
//! [`proven`] is the supervisor's side: what the bytes it received on the channel prove.

use super::Failure;
use crate::confine::Confinement;

/// What the child's setup channel proves, read by the supervisor once the child has exec'd or
/// exited: the observation, when every step ran and it holds what `expected` says; otherwise
/// why the run is a sandbox error, in the report's words. Anything the runner cannot read
/// counts against the run.
pub fn proven(setup: &[u8], expected: Option<Expected>) -> Result<Observed, String> {
    // The read-back comes first, then a failure record if a step failed after it.
    let observed = Observed::decode(setup);
    let rest = setup
        .get(observed.map_or(0, |_| Observed::LEN)..)
        .unwrap_or_default();
    if let Some(f) = Failure::decode(rest) {
        return Err(f.message());
    }
    if !rest.is_empty() {
        return Err(format!(
            "the sandbox setup sent {} bytes that are neither its read-back nor a failure record; the run is not trusted",
            rest.len()
        ));
    }
    let (Some(o), Some(expected)) = (observed, expected) else {
        return Err(
            "the sandbox setup ended without reading back what it applied; the program was not run"
                .into(),
        );
    };
    if let Some(m) = o.mismatch(&expected) {
        return Err(format!(
            "the sandbox read-back found that {}; the program was not run",
            m.describe()
        ));
    }
    Ok(o)
}

/// What the kernel reported after the last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observed {
    pub no_new_privs: bool,
    /// 0 disabled, 1 strict, 2 filter.
    pub seccomp_mode: u8,
    pub cap_inheritable: u64,
    pub cap_permitted: u64,
    pub cap_effective: u64,
    pub cap_bounding: u64,
    pub cap_ambient: u64,
    /// Real, effective, saved and file-system uid.
    pub uids: [u32; 4],
    pub gids: [u32; 4],
    /// Number of supplementary groups.
    pub groups: u32,
    /// The errno that refused the confinement's probe; 0 when the probe was allowed.
    pub probe_errno: i32,
}

/// What the child must observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub uid: u32,
    pub gid: u32,
    /// True when the runner changed identity, so no supplementary group may be left.
    pub no_groups: bool,
    /// Which probe answer proves the confinement: EACCES from Landlock, ENOENT from the
    /// namespaces' root.
    pub confinement: Confinement,
}

crate::coded_enum! {
    /// The first difference between what was expected and what was observed. The number
    /// crosses the setup channel in the failure's cause; numbered like the steps.
    pub enum Mismatch {
        Status = 1 => "/proc/self/status could not be read or parsed",
        NoNewPrivs => "no_new_privs is not set",
        Seccomp => "the seccomp filter is not in force",
        Capabilities => "a capability set is not empty",
        Uid => "the uids are not the sandbox's",
        Gid => "the gids are not the sandbox's",
        Groups => "supplementary groups are left",
        Landlock => "the Landlock probe was allowed",
        Confinement => "the namespaces' probe found /proc, which is outside the sandbox's root",
    }
    /// What the check found, for the failure's message.
    pub fn describe;
}

impl Observed {
    /// Tag of the record on the setup pipe (failure records start with a step number, < 64).
    pub const TAG: u8 = 0xA5;
    pub const LEN: usize = 1 + 1 + 1 + 5 * 8 + 8 * 4 + 4 + 4;

    /// Reads the fields of `/proc/self/status` this module checks. `None` when one is missing
    /// or malformed: a kernel that does not say is not trusted.
    pub fn parse_status(text: &[u8], probe_errno: i32) -> Option<Self> {
        let mut o = Self {
            probe_errno,
            ..Self::default()
        };
        let mut seen = 0u16;
        for line in text.split(|&b| b == b'\n') {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (key, value) = (&line[..colon], trim(&line[colon + 1..]));
            let Some(at) = STATUS_FIELDS.iter().position(|(name, _)| *name == key) else {
                continue;
            };
            STATUS_FIELDS[at].1(&mut o, value)?;
            seen |= 1 << at;
        }
        (seen == (1 << STATUS_FIELDS.len()) - 1).then_some(o)
    }

    /// The first way this observation falls short of `want`.
    pub fn mismatch(&self, want: &Expected) -> Option<Mismatch> {
        let caps = [
            self.cap_inheritable,
            self.cap_permitted,
            self.cap_effective,
            self.cap_bounding,
            self.cap_ambient,
        ];
        if !self.no_new_privs {
            Some(Mismatch::NoNewPrivs)
        } else if self.seccomp_mode != 2 {
            Some(Mismatch::Seccomp)
        } else if caps.iter().any(|&c| c != 0) {
            Some(Mismatch::Capabilities)
        } else if self.uids.iter().any(|&u| u != want.uid) {
            Some(Mismatch::Uid)
        } else if self.gids.iter().any(|&g| g != want.gid) {
            Some(Mismatch::Gid)
        } else if want.no_groups && self.groups != 0 {
            Some(Mismatch::Groups)
        } else if want.confinement == Confinement::Landlock && self.probe_errno != libc::EACCES {
            Some(Mismatch::Landlock)
        } else if want.confinement == Confinement::Namespaces && self.probe_errno != libc::ENOENT {
            Some(Mismatch::Confinement)
        } else {
            None
        }
    }

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[0] = Self::TAG;
        out[1] = u8::from(self.no_new_privs);
        out[2] = self.seccomp_mode;
        let mut at = 3;
        let mut put = |bytes: &[u8]| {
            out[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        for c in [
            self.cap_inheritable,
            self.cap_permitted,
            self.cap_effective,
            self.cap_bounding,
            self.cap_ambient,
        ] {
            put(&c.to_le_bytes());
        }
        for id in self.uids.iter().chain(&self.gids) {
            put(&id.to_le_bytes());
        }
        put(&self.groups.to_le_bytes());
        put(&self.probe_errno.to_le_bytes());
        out
    }

    /// Decodes a record; `None` when `bytes` does not start with one.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let b = bytes.get(..Self::LEN)?;
        if b[0] != Self::TAG || b[1] > 1 {
            return None;
        }
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or_default());
        let ids = |first: usize| std::array::from_fn(|k| u32_at(first + 4 * k));
        Some(Self {
            no_new_privs: b[1] == 1,
            seccomp_mode: b[2],
            cap_inheritable: u64_at(3),
            cap_permitted: u64_at(11),
            cap_effective: u64_at(19),
            cap_bounding: u64_at(27),
            cap_ambient: u64_at(35),
            uids: ids(43),
            gids: ids(59),
            groups: u32_at(75),
            probe_errno: i32::from_le_bytes(b[79..83].try_into().unwrap_or_default()),
        })
    }
}

/// Stores one `/proc/self/status` value in its field; `None` when it is malformed.
type SetField = fn(&mut Observed, &[u8]) -> Option<()>;

/// Every line of `/proc/self/status` the read-back needs, each of which must be present: a plain
/// function pointer per key, so the parse stays allocation-free in the child.
const STATUS_FIELDS: [(&[u8], SetField); 10] = [
    (b"NoNewPrivs", |o, v| {
        decimal(v).map(|n| o.no_new_privs = n == 1)
    }),
    (b"Seccomp", |o, v| {
        o.seccomp_mode = u8::try_from(decimal(v)?).ok()?;
        Some(())
    }),
    (b"CapInh", |o, v| hex(v).map(|c| o.cap_inheritable = c)),
    (b"CapPrm", |o, v| hex(v).map(|c| o.cap_permitted = c)),
    (b"CapEff", |o, v| hex(v).map(|c| o.cap_effective = c)),
    (b"CapBnd", |o, v| hex(v).map(|c| o.cap_bounding = c)),
    (b"CapAmb", |o, v| hex(v).map(|c| o.cap_ambient = c)),
    (b"Uid", |o, v| four(v).map(|ids| o.uids = ids)),
    (b"Gid", |o, v| four(v).map(|ids| o.gids = ids)),
    (b"Groups", |o, v| {
        let count = v
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .count();
        o.groups = u32::try_from(count).ok()?;
        Some(())
    }),
];

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end.max(start)]
}

fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

fn hex(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 16 {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return None,
        };
        Some(n << 4 | u64::from(d))
    })
}

fn four(s: &[u8]) -> Option<[u32; 4]> {
    let mut out = [0u32; 4];
    let mut words = s
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty());
    for slot in &mut out {
        *slot = u32::try_from(decimal(words.next()?)?).ok()?;
    }
    words.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SANDBOXED: &[u8] = b"Name:\tpython3.11\nUmask:\t0022\nState:\tR (running)\n\
Uid:\t65532\t65532\t65532\t65532\nGid:\t65532\t65532\t65532\t65532\nFDSize:\t64\nGroups:\t\n\
CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n\
CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n\
Seccomp_filters:\t1\nSpeculation_Store_Bypass:\tthread vulnerable\n";

    fn want() -> Expected {
        Expected {
            uid: 65532,
            gid: 65532,
            no_groups: true,
            confinement: Confinement::Landlock,
        }
    }

    #[test]
    fn only_a_whole_read_back_that_holds_proves_the_sandbox() {
        let good = Observed::parse_status(SANDBOXED, libc::EACCES).unwrap();
        assert_eq!(proven(&good.encode(), Some(want())), Ok(good));

        let mut sent = good.encode().to_vec();
        let failed = Failure::new(crate::sandbox::Step::Exec, nix::errno::Errno::ENOENT);
        sent.extend_from_slice(&failed.encode());
        assert_eq!(proven(&sent, Some(want())), Err(failed.message()));
        // A step that failed before the read-back: its record alone.
        assert_eq!(
            proven(&failed.encode(), Some(want())),
            Err(failed.message())
        );

        let says = |sent: &[u8], expected| proven(sent, expected).unwrap_err();
        for (sent, expected, reason) in [
            (&[][..], Some(want()), "ended without reading back"),
            (&good.encode()[..], None, "ended without reading back"),
            (
                &good.encode()[..40],
                Some(want()),
                "neither its read-back nor",
            ),
            (&[0xA5, 1, 2][..], Some(want()), "neither its read-back nor"),
        ] {
            let why = says(sent, expected);
            assert!(why.contains(reason), "{sent:?}: {why}");
        }
        let mut trailing = good.encode().to_vec();
        trailing.extend_from_slice(&[9, 9, 9, 9, 9, 9, 9]);
        assert!(says(&trailing, Some(want())).contains("7 bytes that are neither"));

        let root = Expected { uid: 0, ..want() };
        assert!(says(&good.encode(), Some(root)).contains("the uids are not the sandbox's"));
    }

    #[test]
    fn a_sandboxed_status_passes_and_round_trips() {
        let o = Observed::parse_status(SANDBOXED, libc::EACCES).unwrap();
        assert_eq!(o.mismatch(&want()), None);
        assert_eq!(Observed::decode(&o.encode()), Some(o));
    }

    #[test]
    fn each_shortfall_is_named() {
        let swap = |from: &str, to: &str| {
            let text = String::from_utf8_lossy(SANDBOXED).replace(from, to);
            Observed::parse_status(text.as_bytes(), libc::EACCES)
                .unwrap()
                .mismatch(&want())
        };
        assert_eq!(
            swap("NoNewPrivs:\t1", "NoNewPrivs:\t0"),
            Some(Mismatch::NoNewPrivs)
        );
        assert_eq!(swap("Seccomp:\t2", "Seccomp:\t0"), Some(Mismatch::Seccomp));
        assert_eq!(
            swap("CapBnd:\t0000000000000000", "CapBnd:\t0000000000200000"),
            Some(Mismatch::Capabilities)
        );
        assert_eq!(
            swap("CapAmb:\t0000000000000000", "CapAmb:\t0000000000000001"),
            Some(Mismatch::Capabilities)
        );
        assert_eq!(
            swap(
                "Uid:\t65532\t65532\t65532\t65532",
                "Uid:\t65532\t0\t65532\t65532"
            ),
            Some(Mismatch::Uid)
        );
        assert_eq!(
            swap(
                "Gid:\t65532\t65532\t65532\t65532",
                "Gid:\t0\t65532\t65532\t65532"
            ),
            Some(Mismatch::Gid)
        );
        assert_eq!(swap("Groups:\t", "Groups:\t0 27"), Some(Mismatch::Groups));
        let o = Observed::parse_status(SANDBOXED, 0).unwrap();
        assert_eq!(o.mismatch(&want()), Some(Mismatch::Landlock));
    }

    #[test]
    fn each_confinement_has_its_own_probe_answer() {
        let ns = Expected {
            confinement: Confinement::Namespaces,
            ..want()
        };
        let probe = |errno| Observed::parse_status(SANDBOXED, errno).unwrap();
        assert_eq!(probe(libc::ENOENT).mismatch(&ns), None);
        // /proc reachable (0), or refused rather than absent: the root is not the one built.
        for errno in [0, libc::EACCES] {
            assert_eq!(probe(errno).mismatch(&ns), Some(Mismatch::Confinement));
        }
        assert_eq!(
            probe(libc::ENOENT).mismatch(&want()),
            Some(Mismatch::Landlock)
        );
        assert!(Mismatch::from_code(9).unwrap().describe().contains("/proc"));
    }

    #[test]
    fn a_missing_or_malformed_field_is_not_trusted() {
        let text = String::from_utf8_lossy(SANDBOXED);
        for bad in [
            text.replace("NoNewPrivs:\t1\n", ""),
            text.replace("Seccomp:\t2", "Seccomp:\tx"),
            text.replace("CapEff:\t0000000000000000", "CapEff:\t00000000000000000"),
            text.replace("Uid:\t65532\t65532\t65532\t65532", "Uid:\t65532\t65532"),
        ] {
            assert_eq!(
                Observed::parse_status(bad.as_bytes(), libc::EACCES),
                None,
                "{bad}"
            );
        }
        assert_eq!(Observed::decode(&[0u8; Observed::LEN]), None);
        assert_eq!(Observed::decode(&[Observed::TAG, 0, 2]), None);
    }

    #[test]
    fn this_process_status_parses() {
        let text = std::fs::read("/proc/self/status").unwrap();
        let o = Observed::parse_status(&text, 0).unwrap();
        // SAFETY: geteuid has no preconditions.
        assert_eq!(o.uids[1], unsafe { libc::geteuid() });
    }
}
