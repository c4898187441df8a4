//! The main filter's decision tree (runner/build/dispatch.rs) keeps the kernel's work per call
//! number short and decides as the linear allowlist would. The build proves the second point
//! on every compile (`check_same`); these tests pin the first on the filter the runner
//! embeds, and check the tree builder and the checker on small programs, including a tree
//! too large for one conditional jump and a change the checker must catch.
//! `seccomp_policy.rs` runs the real binary against the same policy.

#![allow(clippy::expect_used, clippy::panic)]

#[path = "../build/dispatch.rs"]
#[allow(dead_code)]
mod dispatch;

use dispatch::{ARCH_X86_64, Call, Class, Insn, check_same, classify, front, run, walk};

const ALLOW: u32 = 0x7fff_0000;
const NOTIF: u32 = 0x7fc0_0000;

fn main_filter() -> Vec<Insn> {
    let [_, (_, main)] = runner::profile::seccomp_filters();
    main.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
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
