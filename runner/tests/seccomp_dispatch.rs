//! The one seccomp program's decision tree (runner/build/dispatch.rs) keeps the kernel's work
//! per call number short and decides as the two filters it replaces (`enosys`, then the
//! linear allowlist) would together. The build proves the second point on every compile
//! (`check_merged`); these tests pin the first on the programs the runner embeds, and check
//! the tree builder, the merge and the checkers on small programs, including a tree too large
//! for one conditional jump and changes the checkers must catch.
//! `seccomp_policy.rs` runs the real binary against the same policy.

#![allow(clippy::expect_used, clippy::panic)]

#[path = "../build/bpf.rs"]
#[allow(dead_code)]
mod bpf;
#[path = "../build/dispatch.rs"]
#[allow(dead_code)]
mod dispatch;

use bpf::{ARCH_X86_64, Call, Class, Insn, classify, run, walk};
use dispatch::{check_merged, check_same, combine, front, merge};
use runner::profile::SeccompDefault;

const ALLOW: u32 = 0x7fff_0000;
const NOTIF: u32 = 0x7fc0_0000;

fn main_filter() -> Vec<Insn> {
    program(SeccompDefault::Notify)
}

fn program(default: SeccompDefault) -> Vec<Insn> {
    let prog = runner::profile::seccomp_filter(default);
    prog.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
}

/// How many instructions the kernel's action-cache emulation walks for `nr`.
fn walked(prog: &[Insn], nr: u32) -> usize {
    let call = Call {
        nr,
        arch: ARCH_X86_64,
        ip: 0,
        args: [0; 6],
    };
    walk(prog, &call, false).expect("a valid program").1
}

#[test]
fn every_call_number_is_decided_within_a_few_dozen_instructions() {
    let main = main_filter();
    // Before the tree, an unlisted number walked the whole linear chain (663 instructions).
    assert!(
        main.len() < 400,
        "the main filter has {} instructions",
        main.len()
    );
    let mut worst = (0, 0);
    for nr in 0..1100 {
        let n = walked(&main, nr);
        if n > worst.1 {
            worst = (nr, n);
        }
    }
    assert!(
        worst.1 <= 40,
        "call number {} walks {} instructions",
        worst.0,
        worst.1
    );
    // And the walk ends where it should: read(0) is allowed outright, a socket's family is
    // checked (arguments), an unlisted number notifies.
    assert_eq!(classify(&main, 0), Ok(Class::Ret(ALLOW)));
    assert_eq!(classify(&main, 41), Ok(Class::Args));
    assert_eq!(classify(&main, 165), Ok(Class::Ret(NOTIF)), "mount");
}

/// The architecture check that comes before the tree in the real filter.
fn guarded(front: Vec<Insn>) -> Vec<Insn> {
    let mut p: Vec<Insn> = vec![(0x20, 0, 0, 4), (0x15, 1, 0, ARCH_X86_64), (0x06, 0, 0, 0)];
    p.extend(front);
    p
}

/// A linear program in seccompiler's shape: `ld arch; ...; ld nr; jeq n, allow` for every
/// listed number, and an argument check for one of them.
fn linear(listed: &[u32], checked: u32) -> Vec<Insn> {
    let mut p: Vec<Insn> = vec![(0x20, 0, 0, 4), (0x15, 1, 0, ARCH_X86_64), (0x06, 0, 0, 0)];
    p.push((0x20, 0, 0, 0));
    for &n in listed {
        p.push((0x15, 0, 1, n));
        p.push((0x06, 0, 0, ALLOW));
    }
    // checked: allowed only when args[0] == 7.
    p.push((0x15, 0, 3, checked));
    p.push((0x20, 0, 0, 16));
    p.push((0x15, 0, 1, 7));
    p.push((0x06, 0, 0, ALLOW));
    p.push((0x06, 0, 0, NOTIF));
    p
}

#[test]
fn a_large_tree_decides_as_the_linear_program_and_reaches_past_255_instructions() {
    // Every third number listed: hundreds of runs, so the top of the tree needs `ja`.
    let listed: Vec<u32> = (0..900).step_by(3).collect();
    let old = linear(&listed, 1000);
    let slow = linear(&[], 1000);
    let new = guarded(front(&old, &slow).expect("front"));
    assert!(
        new.iter().any(|i| i.0 == 0x05 && i.3 > 255),
        "no long jump was needed"
    );
    check_same(&old, &new).expect("same decisions");
    for nr in [0, 1, 3, 899, 900, 1000, 1001, 5000] {
        let call = |a0| Call {
            nr,
            arch: ARCH_X86_64,
            ip: 0,
            args: [a0, 0, 0, 0, 0, 0],
        };
        assert_eq!(
            run(&old, &call(7), true),
            run(&new, &call(7), true),
            "nr {nr}"
        );
        assert_eq!(
            run(&old, &call(8), true),
            run(&new, &call(8), true),
            "nr {nr}"
        );
    }
    assert!(walked(&new, 2) <= 24, "{}", walked(&new, 2));
}

#[test]
fn the_checker_catches_a_tree_that_decides_differently() {
    let old = linear(&[0, 1, 2, 60], 41);
    let slow = linear(&[], 41);
    let mut new = guarded(front(&old, &slow).expect("front"));
    check_same(&old, &new).expect("same decisions");
    // Turn one of the tree's allow returns into a notify.
    let at = new
        .iter()
        .position(|i| *i == (0x06, 0, 0, ALLOW))
        .expect("an allow leaf");
    new[at].3 = NOTIF;
    let e = check_same(&old, &new).expect_err("a changed leaf must be caught");
    assert!(e.contains("answers"), "{e}");
    // And an argument check the slow program gets wrong.
    let wrong_slow = linear(&[], 42);
    let new = guarded(front(&old, &wrong_slow).expect("front"));
    assert!(check_same(&old, &new).is_err());
}

#[test]
fn an_unknown_instruction_or_a_jump_out_of_the_program_is_an_error() {
    let call = Call {
        nr: 0,
        arch: ARCH_X86_64,
        ip: 0,
        args: [0; 6],
    };
    assert!(run(&[(0x61, 0, 0, 0)], &call, true).is_err());
    assert!(run(&[(0x05, 0, 0, 3), (0x06, 0, 0, 0)], &call, true).is_err());
    assert!(run(&[(0x20, 0, 0, 64), (0x06, 0, 0, 0)], &call, true).is_err());
}

const ERRNO: u32 = 0x0005_0026;
const KILL: u32 = 0x8000_0000;

#[test]
fn the_kernel_keeps_the_answer_of_highest_precedence_and_the_newer_on_a_tie() {
    let trap = 0x0003_0001;
    for (older, newer, want) in [
        (ERRNO, NOTIF, ERRNO),
        (ALLOW, NOTIF, NOTIF),
        (ERRNO, KILL, KILL),
        (KILL, ALLOW, KILL),
        (ALLOW, ALLOW, ALLOW),
        (0x0005_0001, ERRNO, ERRNO),
        (trap, ERRNO, trap),
        (0, ERRNO, 0),
        (KILL, 0, KILL),
    ] {
        assert_eq!(combine(older, newer), want, "{older:#x} {newer:#x}");
    }
}

#[test]
fn the_kill_process_program_has_no_listener_return_and_walks_as_little() {
    let kill = program(SeccompDefault::KillProcess);
    assert!(!kill.iter().any(|i| i.0 == 0x06 && i.3 == NOTIF));
    for nr in 0..1100 {
        assert!(walked(&kill, nr) <= 40, "call number {nr}");
    }
    assert_eq!(classify(&kill, 165), Ok(Class::Ret(KILL)), "mount");
    assert_eq!(classify(&kill, 0), Ok(Class::Ret(ALLOW)));
}

/// An enosys filter in seccompiler's shape: ERRNO for `errno_for`, ERRNO for `checked` when
/// args[3] & 1, everything else allowed.
fn enosys_like(errno_for: u32, checked: u32) -> Vec<Insn> {
    vec![
        (0x20, 0, 0, 4),
        (0x15, 1, 0, ARCH_X86_64),
        (0x06, 0, 0, KILL),
        (0x20, 0, 0, 0),
        (0x15, 0, 1, errno_for),
        (0x06, 0, 0, ERRNO),
        (0x15, 0, 3, checked),
        (0x20, 0, 0, 40),
        (0x45, 0, 1, 1),
        (0x06, 0, 0, ERRNO),
        (0x06, 0, 0, ALLOW),
    ]
}

#[test]
fn the_merged_program_decides_as_the_two_filters_together() {
    // The allowlist lists 0..3 and checks 41's argument; enosys answers ERRNO for 5 (not
    // listed: USER_NOTIF from the allowlist) and for 41 and 1 with the flag.
    for (notif, errno_for, checked) in [(NOTIF, 5, 41), (KILL, 5, 41), (NOTIF, 2, 1), (KILL, 41, 1)]
    {
        let main = dispatch::map_returns(&linear(&[0, 1, 2, 60], 41), |k| {
            if k == NOTIF { notif } else { k }
        });
        let slow = dispatch::map_returns(&linear(&[], 41), |k| if k == NOTIF { notif } else { k });
        let enosys = enosys_like(errno_for, checked);
        let slow_for = |_: &[u32]| Ok(slow.clone());
        let (front, at) = merge(&enosys, &enosys, &main, &slow_for, &[9]).expect("merge");
        // The architecture check in front, killing as enosys's own does.
        let mut merged: Vec<Insn> = vec![
            (0x20, 0, 0, 4),
            (0x15, 1, 0, ARCH_X86_64),
            (0x06, 0, 0, KILL),
        ];
        merged.extend(front);
        check_merged(&enosys, &main, &merged).expect("same decisions");
        // The guard's place: every routed call and nothing the first tree decides.
        assert_eq!(
            merged[at + 3],
            (0x20, 0, 0, 0),
            "ld nr at the guard's place"
        );
        let call = |nr, a3| Call {
            nr,
            arch: ARCH_X86_64,
            ip: 0,
            args: [0, 0, 0, a3, 0, 0],
        };
        let both = |c: &Call| {
            combine(
                run(&enosys, c, true).expect("run").expect("decided"),
                run(&main, c, true).expect("run").expect("decided"),
            )
        };
        // Not listed in the allowlist: its listener (or kill) loses to enosys's ERRNO, but
        // the kill wins.
        let unlisted = call(5, 0);
        if errno_for == 5 {
            assert_eq!(both(&unlisted), if notif == KILL { KILL } else { ERRNO });
        }
        assert_eq!(run(&merged, &unlisted, true), Ok(Some(both(&unlisted))));
        // Changed answers are caught.
        let wrong = dispatch::map_returns(&merged, |k| if k == ERRNO { ALLOW } else { k });
        assert!(check_merged(&enosys, &main, &wrong).is_err());
    }
}
