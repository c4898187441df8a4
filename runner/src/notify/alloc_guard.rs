//! The allocation guard: a few BPF instructions put into the compiled main filter so an
//! allocation over the address-space backstop reaches the listener as a memory verdict.

/// Where the build script's x32 guard ends in the main filter: the allocation guard goes
/// right after it, before the allowlist's decision tree (which starts by loading the call
/// number again, runner/build/dispatch.rs).
const X32_GUARD_LEN: usize = 6;

/// Puts the allocation guard into the compiled main filter: an `mmap` whose length, or an
/// `mremap` whose new length, is over `address_space` (the RLIMIT_AS backstop) returns
/// USER_NOTIF, so the supervisor sees a request the kernel would refuse with ENOMEM (a
/// MemoryError the program could catch or turn into any exit) and decides `memory_limit`.
/// Every such request fails anyway: nothing that works without the guard stops working.
/// Built in the parent before the fork. `None` when the filter does not start with the x32
/// guard the build script emits (the build changed): the caller fails closed.
pub fn with_allocation_guard(
    main: &[seccompiler::sock_filter],
    address_space: u64,
) -> Option<Vec<seccompiler::sock_filter>> {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const JGT_K: u16 = 0x25;
    const RET_K: u16 = 0x06;
    // seccomp_data: nr at 0, args[i] at 16 + 8 i, little-endian (low word first).
    const ARGS: u32 = 16;
    let prefix_ok = main.len() > X32_GUARD_LEN
        && main[X32_GUARD_LEN - 1].code == RET_K
        && main[X32_GUARD_LEN].code == LD_W_ABS
        && matches!(main[X32_GUARD_LEN].k, 0 | 4);
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
    let mut out = main[..X32_GUARD_LEN].to_vec();
    out.extend(guard);
    out.extend_from_slice(&main[X32_GUARD_LEN..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the few BPF instructions the guard and its surroundings use on one call.
    fn run_bpf(prog: &[seccompiler::sock_filter], nr: u32, args: [u64; 6]) -> u32 {
        let word = |off: u32| -> u32 {
            match off {
                0 => nr,
                4 => 0xC000_003E,
                o if (16..64).contains(&o) => {
                    let a = args[usize::try_from((o - 16) / 8).unwrap()];
                    let w = if (o - 16) % 8 == 0 {
                        a & 0xffff_ffff
                    } else {
                        a >> 32
                    };
                    u32::try_from(w).unwrap()
                }
                o => panic!("load at {o}"),
            }
        };
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = &prog[pc];
            pc += 1;
            match i.code {
                0x20 => acc = word(i.k),
                0x06 => return i.k,
                0x15 | 0x25 | 0x35 => {
                    let hit = match i.code {
                        0x15 => acc == i.k,
                        0x25 => acc > i.k,
                        _ => acc >= i.k,
                    };
                    pc += usize::from(if hit { i.jt } else { i.jf });
                }
                other => return 0xdead_0000 | u32::from(other),
            }
        }
    }

    #[test]
    fn the_allocation_guard_notifies_exactly_the_requests_over_the_backstop() {
        let [_, (_, main)] = crate::profile::seccomp_filters();
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
        let g = with_allocation_guard(&model, limit).unwrap();
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
        assert!(with_allocation_guard(&main[X32_GUARD_LEN..], limit).is_none());
        let full = with_allocation_guard(&main, limit).unwrap();
        assert_eq!(full.len(), main.len() + 14);
    }
}
