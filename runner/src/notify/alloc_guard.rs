//! The allocation guard: a few BPF instructions put into the compiled seccomp program so an
//! allocation over the address-space backstop reaches the listener as a memory verdict.

/// The length of the build script's x32 guard, which every compiled program starts with.
const X32_GUARD_LEN: usize = 6;

/// Puts the allocation guard into the compiled program at `at`: an `mmap` whose length, or an
/// `mremap` whose new length, is over `address_space` (the RLIMIT_AS backstop) returns
/// USER_NOTIF, so the supervisor sees a request the kernel would refuse with ENOMEM (a
/// MemoryError the program could catch or turn into any exit) and decides `memory_limit`.
/// Every such request fails anyway: nothing that works without the guard stops working.
///
/// `at` is `profile::ALLOCATION_GUARD_AT`: where a call arrives once the policy's `enosys`
/// rules have let it through (the build routes every `mmap` and `mremap` there, and no call
/// the guard does not check), so a request those rules refuse (a MAP_SHARED file mapping)
/// keeps their ERRNO, as it did when the guard sat in a second filter whose USER_NOTIF the
/// first filter's ERRNO outranked. A jump from before `at` that lands on `at` now lands on the
/// guard, one that lands past it is moved on by the guard's length; the guard goes on to the
/// instruction that was at `at`.
///
/// Built in the parent before the fork. `None` when the program does not start with the x32
/// guard the build script emits, has no load at `at`, or a moved jump no longer fits its
/// offset (the build changed): the caller fails closed.
pub fn with_allocation_guard(
    prog: &[seccompiler::sock_filter],
    at: usize,
    address_space: u64,
) -> Option<Vec<seccompiler::sock_filter>> {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JGT_K: u16 = 0x25;
    const RET_K: u16 = 0x06;
    // seccomp_data: nr at 0, args[i] at 16 + 8 i, little-endian (low word first).
    const ARGS: u32 = 16;
    const JA: u16 = 0x05;
    let prefix_ok = at >= X32_GUARD_LEN
        && prog.len() > at
        && prog[X32_GUARD_LEN - 1].code == RET_K
        && prog[at].code == LD_W_ABS
        && matches!(prog[at].k, 0 | 4);
    if !prefix_ok {
        return None;
    }
    let hi = u32::try_from(address_space >> 32).ok()?;
    let lo = u32::try_from(address_space & 0xffff_ffff).ok()?;
    let nr = |n: libc::c_long| u32::try_from(n).unwrap_or(u32::MAX);
    let ins = |code, jt, jf, k| seccompiler::sock_filter { code, jt, jf, k };
    // Layout: 0 nr; 1-2 dispatch; 3-7 mmap's check; 8-12 mremap's; 13 notify; 14 out (the
    // rest of the filter). A jump offset counts from the next instruction. `d` is how far a
    // check's last instruction is from `notify`: len > limit as 64-bit is hi > HI, or
    // hi == HI and lo > LO.
    let check = |arg: u32, d: u8| {
        let at = ARGS + 8 * arg;
        [
            ins(LD_W_ABS, 0, 0, at + 4), // A = high word of the length
            ins(JGT_K, d + 3, 0, hi),    // above HI: notify
            ins(JEQ_K, 0, d + 3, hi),    // below HI: out
            ins(LD_W_ABS, 0, 0, at),     // A = low word
            ins(JGT_K, d, d + 1, lo),    // above LO: notify, else out
        ]
    };
    let mut guard = vec![
        ins(LD_W_ABS, 0, 0, 0),
        ins(JEQ_K, 1, 0, nr(libc::SYS_mmap)),
        ins(JEQ_K, 5, 11, nr(libc::SYS_mremap)),
    ];
    guard.extend(check(1, 5));
    guard.extend(check(2, 0));
    guard.push(ins(RET_K, 0, 0, libc::SECCOMP_RET_USER_NOTIF));
    // Jumps from before `at` to past it are moved on by the guard's length; those to `at`
    // itself now reach the guard.
    let grow = guard.len();
    let mut out = Vec::with_capacity(prog.len() + grow);
    for (i, insn) in prog[..at].iter().enumerate() {
        let past = |off: usize| i + 1 + off > at;
        let mut insn = insn.clone();
        if insn.code == JA {
            let k = usize::try_from(insn.k).ok()?;
            if past(k) {
                insn.k = u32::try_from(k + grow).ok()?;
            }
        } else if insn.code & 0x07 == 0x05 {
            for off in [&mut insn.jt, &mut insn.jf] {
                if past(usize::from(*off)) {
                    *off = u8::try_from(usize::from(*off) + grow).ok()?;
                }
            }
        }
        out.push(insn);
    }
    out.extend(guard);
    out.extend_from_slice(&prog[at..]);
    Some(out)
}

#[cfg(test)]
#[path = "../../build/bpf.rs"]
#[allow(dead_code)]
mod bpf;
#[cfg(test)]
#[path = "../../build/dispatch.rs"]
#[allow(dead_code)]
mod dispatch;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{ALLOCATION_GUARD_AT, SeccompDefault};

    /// Runs `prog` on one x86_64 call with the build's emulator.
    fn run_bpf(prog: &[seccompiler::sock_filter], nr: u32, args: [u64; 6]) -> u32 {
        let call = bpf::Call {
            nr,
            arch: bpf::ARCH_X86_64,
            ip: 0,
            args,
        };
        bpf::run(&insns(prog), &call, true).unwrap().unwrap()
    }

    #[test]
    fn the_allocation_guard_notifies_exactly_the_requests_over_the_backstop() {
        let main = crate::profile::seccomp_filter(SeccompDefault::Notify);
        // The guard replaces the rest of the filter in this model by a marker return.
        let mut model = main[..X32_GUARD_LEN].to_vec();
        model.push(seccompiler::sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 4,
        });
        model.push(seccompiler::sock_filter {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0x1234,
        });
        let limit: u64 = (1 << 32) + 5; // a high word to compare, too
        let g = with_allocation_guard(&model, X32_GUARD_LEN, limit).unwrap();
        let mmap = u32::try_from(libc::SYS_mmap).unwrap();
        let mremap = u32::try_from(libc::SYS_mremap).unwrap();
        let notif = libc::SECCOMP_RET_USER_NOTIF;
        for (nr, args, want) in [
            (mmap, [0, limit + 1, 3, 0x22, 0, 0], notif),
            (mmap, [0, limit, 3, 0x22, 0, 0], 0x1234),
            (mmap, [0, 1 << 33, 3, 0x22, 0, 0], notif),
            (mmap, [0, 6, 3, 0x22, 0, 0], 0x1234),
            (mmap, [0, (1 << 32) - 1, 3, 0x22, 0, 0], 0x1234),
            (mremap, [0, 4096, limit + 1, 1, 0, 0], notif),
            (mremap, [0, limit + 1, 4096, 1, 0, 0], 0x1234),
            (0, [0, limit + 1, limit + 1, 0, 0, 0], 0x1234),
        ] {
            assert_eq!(run_bpf(&g, nr, args), want, "nr {nr} args {args:?}");
        }
        // The x32 guard still comes first and the real filter still follows.
        assert!(
            g.iter()
                .zip(&main[..X32_GUARD_LEN])
                .all(|(a, b)| (a.code, a.k) == (b.code, b.k))
        );
        assert!(
            with_allocation_guard(&main[X32_GUARD_LEN..], ALLOCATION_GUARD_AT, limit).is_none()
        );
        let full = with_allocation_guard(&main, ALLOCATION_GUARD_AT, limit).unwrap();
        assert_eq!(full.len(), main.len() + 14);
        // Only where the program loads.
        assert!(with_allocation_guard(&main, ALLOCATION_GUARD_AT + 1, limit).is_none());
    }

    fn insns(prog: &[seccompiler::sock_filter]) -> Vec<bpf::Insn> {
        prog.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
    }

    /// In the one installed program, the guard decides what it decided in the second of the
    /// two filters the runner installed before: for a huge MAP_SHARED file mapping the
    /// enosys rules' ERRNO (which outranked the second filter's USER_NOTIF), for any other
    /// allocation over the backstop USER_NOTIF.
    #[test]
    fn in_the_one_program_the_guard_decides_as_it_did_in_the_second_of_two_filters() {
        let limit: u64 = (1 << 32) + 5;
        let merged = insns(
            &with_allocation_guard(
                &crate::profile::seccomp_filter(SeccompDefault::Notify),
                ALLOCATION_GUARD_AT,
                limit,
            )
            .unwrap(),
        );
        let [enosys, main] = crate::profile::two_filters();
        let enosys = insns(&enosys);
        let main = insns(&with_allocation_guard(&main, X32_GUARD_LEN, limit).unwrap());
        // Every number, the build's argument sweep (one argument at a time).
        dispatch::check_merged(&enosys, &main, &merged).unwrap();
        // And every combination of length and flags for the guarded calls.
        let mmap = u32::try_from(libc::SYS_mmap).unwrap();
        let mremap = u32::try_from(libc::SYS_mremap).unwrap();
        let lengths = [0, 4096, limit - 1, limit, limit + 1, 1 << 33, u64::MAX];
        let flags = [0x22, 0x01, 0x02, 0x03, 0x21, 0x23, 0x4001, u64::MAX];
        let enosys_errno = 0x0005_0000 | 38;
        let notif = libc::SECCOMP_RET_USER_NOTIF;
        let mut seen = [false; 3];
        for (nr, len, flag) in lengths.iter().flat_map(|&len| {
            flags
                .iter()
                .flat_map(move |&f| [(mmap, len, f), (mremap, len, f)])
        }) {
            let args = if nr == mmap {
                [0, len, 3, flag, u64::MAX, 0]
            } else {
                [0, 4096, len, flag, 0, 0]
            };
            let call = bpf::Call {
                nr,
                arch: bpf::ARCH_X86_64,
                ip: 0,
                args,
            };
            let one = bpf::run(&merged, &call, true).unwrap().unwrap();
            let two = dispatch::combine(
                bpf::run(&enosys, &call, true).unwrap().unwrap(),
                bpf::run(&main, &call, true).unwrap().unwrap(),
            );
            assert_eq!(one, two, "{call:x?}");
            let shared_file = nr == mmap && flag & 0x21 == 1;
            let want = match (shared_file, len > limit) {
                (true, _) => enosys_errno,
                (false, true) => notif,
                (false, false) => 0x7fff_0000,
            };
            assert_eq!(one, want, "{call:x?}");
            seen[usize::from(shared_file) + usize::from(!shared_file && len > limit) * 2] = true;
        }
        assert_eq!(seen, [true; 3]);
    }
}
