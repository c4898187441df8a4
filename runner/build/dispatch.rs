//! The seccomp program: one decision tree on the system call number, built at compile time
//! from the policy's two filters.
//!
//! seccompiler compiles each filter (`enosys`, then the `main` allowlist) as one linear chain,
//! a comparison per listed call. The kernel pays for a chain at install: it works out for
//! every call number whether the filter allows that call whatever its arguments (seccomp's
//! action cache), emulating the program from its first instruction once per number, so every
//! number the allowlist does not list walked the whole chain (0.3 ms of every sandbox's start,
//! perf, 2026-11-26). And it pays for every filter installed: each install has a fixed cost
//! (allocation, JIT, that emulation), and a call the cache cannot answer runs every filter.
//!
//! So the runner installs one program, [`merge`]d from the two: a decision tree whose leaves
//! are what the kernel would answer with both filters installed ([`combine`]):
//! - both decide on the number alone: the combined action;
//! - the allowlist checks the arguments: a jump to a seccompiler program compiled from those
//!   calls' rules alone, its answers combined with enosys's;
//! - enosys checks the arguments: its rules, then the allowlist's answer for their answer.
//!
//! Both the install-time emulation and a call the cache misses then take about eight
//! comparisons, once. What the filters decide does not change: [`check_merged`] runs the two
//! linear filters and the merged program side by side, on every number and on arguments built
//! from every constant the policy compares against, and the build fails on any difference.
//! [`front`] and [`check_same`] do the same for one filter alone.

use super::bpf::{
    AND_K, ARCH_X86_64, Call, Class, Insn, JA, JEQ_K, JGE_K, JGT_K, JSET_K, LD_W_ABS, RET_K,
    classify, run,
};

/// Every number from here up is unassigned on x86_64 and treated as the last run; checked,
/// not assumed (see [`front`]).
const NR_SPAN: u32 = 1024;
/// Marks a jump to the argument-checking program until the tree's length is known.
const TO_SLOW: u32 = u32::MAX;

/// The front of the main filter: `ld nr`, then a decision tree over the runs of numbers that
/// `listed` (the whole allowlist, compiled) treats alike, then `slow` (the calls whose
/// arguments are checked, compiled alone), where the tree sends exactly those calls. It
/// decides on the number alone, so it belongs after the architecture check (the build's x32
/// guard), which [`check_same`] runs with it.
pub fn front(listed: &[Insn], slow: &[Insn]) -> Result<Vec<Insn>, String> {
    let runs = runs_of(|nr| classify(listed, nr))?;
    Ok(tree_then(&runs, slow))
}

/// The runs of numbers (first number, class) that `class` treats alike, from 0 up; fails
/// unless the last run holds for every number above the ones looked at.
fn runs_of<T: Copy + PartialEq>(
    class: impl Fn(u32) -> Result<T, String>,
) -> Result<Vec<(u32, T)>, String> {
    let mut runs: Vec<(u32, T)> = Vec::new();
    for nr in 0..=NR_SPAN {
        let c = class(nr)?;
        if runs.last().is_none_or(|&(_, last)| last != c) {
            runs.push((nr, c));
        }
    }
    let tail = runs.last().map(|&(_, c)| c);
    for nr in [NR_SPAN + 1, 4096, 0x3fff_ffff, 0x4000_0000, u32::MAX] {
        if Some(class(nr)?) != tail {
            return Err(format!(
                "call number {nr} is treated unlike {NR_SPAN}: raise NR_SPAN"
            ));
        }
    }
    Ok(runs)
}

/// Runs of the numbers in `numbers` (sorted) only: what `class` says of each, neighbours
/// alike folded. A tree over them decides right for those numbers and nothing else.
fn runs_among(
    numbers: &[u32],
    class: impl Fn(u32) -> Result<Class, String>,
) -> Result<Vec<(u32, Class)>, String> {
    let mut runs: Vec<(u32, Class)> = Vec::new();
    for &nr in numbers {
        let c = class(nr)?;
        if runs.last().is_none_or(|&(_, last)| last != c) {
            runs.push((nr, c));
        }
    }
    Ok(runs)
}

/// A leaf of a decision tree: return, or go to one of the places after the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaf {
    Ret(u32),
    Go(u32),
}

impl From<Class> for Leaf {
    fn from(c: Class) -> Self {
        match c {
            Class::Ret(k) => Leaf::Ret(k),
            Class::Args => Leaf::Go(0),
        }
    }
}

/// `ld nr`, the decision tree over `runs`, and `section` after it, where every `Args` leaf
/// jumps (left out when no leaf does).
fn tree_then(runs: &[(u32, Class)], section: &[Insn]) -> Vec<Insn> {
    let leaves: Vec<(u32, Leaf)> = runs.iter().map(|&(nr, c)| (nr, c.into())).collect();
    let mut out = vec![(LD_W_ABS, 0, 0, 0)];
    out.extend(subtree(&leaves));
    if out.iter().any(|i| place(i).is_some()) {
        let start = out.len();
        resolve(&mut out, 0, &[start]);
        out.extend_from_slice(section);
    }
    out
}

/// The place a tree's `Go` leaf goes to, while it is still unresolved.
fn place(insn: &Insn) -> Option<u32> {
    (insn.0 == JA && insn.3 >= TO_SLOW - 64).then(|| TO_SLOW - insn.3)
}

/// Points the unresolved `Go(i)` jumps of `prog` (which starts at `base` in the program
/// `places` are counted in) at `places[i]`.
fn resolve(prog: &mut [Insn], base: usize, places: &[usize]) {
    for (i, insn) in prog.iter_mut().enumerate() {
        if let Some(to) = place(insn).and_then(|p| places.get(usize::try_from(p).ok()?)) {
            insn.3 = u32::try_from(to - (base + i) - 1).unwrap_or(u32::MAX);
        }
    }
}

/// The tree for `runs` (sorted by their first number, at least one).
fn subtree(runs: &[(u32, Leaf)]) -> Vec<Insn> {
    if let [(_, leaf)] = runs {
        return vec![match *leaf {
            Leaf::Ret(action) => (RET_K, 0, 0, action),
            Leaf::Go(to) => (JA, 0, 0, TO_SLOW - to),
        }];
    }
    let mid = runs.len() / 2;
    let (left, right) = (subtree(&runs[..mid]), subtree(&runs[mid..]));
    let bound = runs[mid].0;
    // A conditional jump reaches 255 instructions; past that, through a `ja`.
    let mut out = match u8::try_from(left.len()) {
        Ok(skip) => vec![(JGE_K, skip, 0, bound)],
        Err(_) => vec![
            (JGE_K, 0, 1, bound),
            (JA, 0, 0, u32::try_from(left.len()).unwrap_or(u32::MAX)),
        ],
    };
    out.extend(left);
    out.extend(right);
    out
}

/// `SECCOMP_RET_ALLOW`.
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_KILL_PROCESS`.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// `SECCOMP_RET_USER_NOTIF`.
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;

/// What the kernel returns when two filters are installed and the older answers `older`, the
/// newer `newer` (kernel/seccomp.c, `seccomp_run_filters`): the action of highest precedence,
/// which is the smallest `ACTION_ONLY(ret)` as a signed 32-bit number (KILL_PROCESS <
/// KILL_THREAD < TRAP < ERRNO < USER_NOTIF < TRACE < LOG < ALLOW); on a tie the newer filter's,
/// data included.
pub fn combine(older: u32, newer: u32) -> u32 {
    let action = |r: u32| i32::from_ne_bytes((r & 0xffff_0000).to_ne_bytes());
    if action(older) < action(newer) {
        older
    } else {
        newer
    }
}

/// `prog` with every `ret k` replaced by `ret f(k)`.
pub fn map_returns(prog: &[Insn], f: impl Fn(u32) -> u32) -> Vec<Insn> {
    prog.iter()
        .map(|&(code, jt, jf, k)| (code, jt, jf, if code == RET_K { f(k) } else { k }))
        .collect()
}

/// `prog` without seccompiler's leading architecture check (`ld arch; jeq x86_64, +1; ret`),
/// for a place where the x32 guard has already checked the architecture.
fn past_arch_check(prog: &[Insn]) -> Result<&[Insn], String> {
    match prog {
        [
            (LD_W_ABS, 0, 0, 4),
            (JEQ_K, 1, 0, ARCH_X86_64),
            (RET_K, 0, 0, _),
            rest @ ..,
        ] => Ok(rest),
        _ => Err("a compiled filter does not start with seccompiler's architecture check".into()),
    }
}

/// Every return of `prog` when they are all the same.
fn constant(prog: &[Insn]) -> Option<u32> {
    let mut rets = prog.iter().filter(|i| i.0 == RET_K).map(|i| i.3);
    let first = rets.next()?;
    rets.all(|r| r == first).then_some(first)
}

/// The main filter's argument rules, compiled, for the given call numbers only.
pub type SlowFor<'a> = dyn Fn(&[u32]) -> Result<Vec<Insn>, String> + 'a;

/// The one program that decides what the two filters `enosys` (installed first) and `main`
/// (installed last) decide together, as [`combine`] says, for a call from x86_64 that is not
/// an x32 one: it goes after the build's x32 guard. `enosys` and `main` are seccompiler's
/// linear programs, `enosys_slow` the enosys filter compiled from its argument rules alone
/// (or whole); `slow_for` compiles the main filter's argument rules for some numbers
/// alone. Returns the program and where in it a call arrives once `enosys` has let it through
/// (its `ret ALLOW`), for the numbers in `routed` and those `enosys` reads arguments of: the
/// place for the runtime's allocation guard, which must check nothing else.
///
/// The layout, every jump forward:
/// - `ld nr` and a decision tree on the number. Where both filters decide on the number
///   alone (and it is not routed), the leaf returns the combined action. Where `main` reads
///   arguments and `enosys` answers `k` on the number alone, the leaf goes to the copy of
///   `main`'s argument rules for `k` (or returns `combine(k, ·)` of all of them, when that is
///   one action). Where `enosys` reads arguments, the leaf goes to:
/// - `enosys_slow` (its architecture check left out), each of whose `ret k` goes to the copy of
///   `main` for `k` (or returns the constant).
/// - For each of `enosys`'s answers `k` but ALLOW, a copy of `main` for the numbers that can
///   meet `k`: `ld nr`, a small tree, the argument rules for those numbers, every return
///   mapped by `combine(k, ·)`.
/// - The guard's place, then the copy for ALLOW: `ld nr`, a tree for the routed numbers and
///   those `enosys` reads arguments of, then `main`'s argument rules, where the first tree's
///   leaves for ALLOW also go (past the guard's place: the guard moves them).
///
/// [`check_merged`] proves the result.
pub fn merge(
    enosys: &[Insn],
    enosys_slow: &[Insn],
    main: &[Insn],
    slow_for: &SlowFor<'_>,
    routed: &[u32],
) -> Result<(Vec<Insn>, usize), String> {
    let e = past_arch_check(enosys_slow)?;
    let mut answers: Vec<u32> = e.iter().filter(|i| i.0 == RET_K).map(|i| i.3).collect();
    answers.sort_unstable();
    answers.dedup();
    if !answers.contains(&RET_ALLOW) {
        return Err("the enosys filter never lets a call through".into());
    }
    let (mut e_class, mut m_class) = (Vec::new(), Vec::new());
    for nr in 0..=NR_SPAN {
        e_class.push(classify(enosys, nr)?);
        m_class.push(classify(main, nr)?);
    }
    let of = |classes: &[Class], nr: u32| {
        usize::try_from(nr)
            .ok()
            .and_then(|i| classes.get(i).copied())
            .ok_or_else(|| format!("call number {nr} past NR_SPAN"))
    };
    let span: Vec<u32> = (0..=NR_SPAN).collect();
    // The copy of `main` for enosys's answer `k`: the numbers that can meet it, `main`'s
    // answer for each, then its argument rules for those of them it checks.
    let copy = |k: u32, numbers: &[u32]| -> Result<Vec<Insn>, String> {
        let runs = runs_among(numbers, |nr| {
            Ok(match of(&m_class, nr)? {
                Class::Ret(m) => Class::Ret(combine(k, m)),
                Class::Args => Class::Args,
            })
        })?;
        let checked: Vec<u32> = numbers
            .iter()
            .copied()
            .filter(|&nr| of(&m_class, nr) == Ok(Class::Args))
            .collect();
        let slow = if checked.is_empty() {
            Vec::new()
        } else {
            map_returns(past_arch_check(&slow_for(&checked)?)?, |m| combine(k, m))
        };
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        Ok(tree_then(&runs, &slow))
    };
    let reads = |nr: u32| of(&e_class, nr).map(|c| c == Class::Args);
    // Places after the first tree: 0 enosys, then one per copy, then the ALLOW copy's slow
    // part (the argument rules the first tree goes to directly).
    const ENOSYS: u32 = 0;
    let mut parts: Vec<Vec<Insn>> = vec![Vec::new()];
    let mut go: Vec<(u32, Leaf)> = Vec::new(); // enosys's answer -> its leaf
    for &k in answers.iter().filter(|&&k| k != RET_ALLOW) {
        let numbers: Vec<u32> = span
            .iter()
            .copied()
            .filter(|&nr| {
                reads(nr).unwrap_or(true)
                    || (of(&e_class, nr) == Ok(Class::Ret(k))
                        && of(&m_class, nr) == Ok(Class::Args))
            })
            .collect();
        let c = copy(k, &numbers)?;
        match constant(&c) {
            Some(v) => go.push((k, Leaf::Ret(v))),
            None if c.is_empty() => {}
            None => {
                go.push((
                    k,
                    Leaf::Go(u32::try_from(parts.len()).map_err(|e| e.to_string())?),
                ));
                parts.push(c);
            }
        }
    }
    // The ALLOW copy: its tree for the numbers arriving through the guard's place, then the
    // argument rules for every number `main` checks and `enosys` may let through.
    let guarded: Vec<u32> = span
        .iter()
        .copied()
        .filter(|&nr| {
            reads(nr).unwrap_or(true)
                || (routed.contains(&nr) && of(&e_class, nr) == Ok(Class::Ret(RET_ALLOW)))
        })
        .collect();
    let checked: Vec<u32> = span
        .iter()
        .copied()
        .filter(|&nr| {
            of(&m_class, nr) == Ok(Class::Args)
                && matches!(of(&e_class, nr), Ok(Class::Args | Class::Ret(RET_ALLOW)))
        })
        .collect();
    let allow_runs = runs_among(&guarded, |nr| of(&m_class, nr))?;
    if allow_runs.is_empty() {
        return Err("no call reaches the allocation guard's place".into());
    }
    let guard_part = u32::try_from(parts.len()).map_err(|e| e.to_string())?;
    let slow_part = guard_part + 1;
    let leaves: Vec<(u32, Leaf)> = allow_runs
        .iter()
        .map(|&(nr, c)| match c {
            Class::Ret(m) => (nr, Leaf::Ret(m)),
            Class::Args => (nr, Leaf::Go(slow_part)),
        })
        .collect();
    let mut allow_tree = vec![(LD_W_ABS, 0, 0, 0)];
    allow_tree.extend(subtree(&leaves));
    parts.push(allow_tree);
    parts.push(past_arch_check(&slow_for(&checked)?)?.to_vec());
    go.push((RET_ALLOW, Leaf::Go(guard_part)));
    let leaf_for = |k: u32| go.iter().find(|&&(r, _)| r == k).map(|&(_, l)| l);
    // enosys, every `ret k` a leaf of its own.
    parts[0] = e
        .iter()
        .map(|&insn| match insn {
            (RET_K, _, _, k) => match leaf_for(k) {
                Some(Leaf::Ret(v)) => Ok((RET_K, 0, 0, v)),
                Some(Leaf::Go(to)) => Ok((JA, 0, 0, TO_SLOW - to)),
                None => Err(format!("enosys's answer {k:#x} has no place")),
            },
            other => Ok(other),
        })
        .collect::<Result<_, String>>()?;
    // The first tree.
    let class = |nr: u32| -> Result<Leaf, String> {
        let (ec, mc) = (classify(enosys, nr)?, classify(main, nr)?);
        Ok(match (ec, mc) {
            (Class::Args, _) => Leaf::Go(ENOSYS),
            (Class::Ret(RET_ALLOW), _) if routed.contains(&nr) => Leaf::Go(guard_part),
            (Class::Ret(e), Class::Ret(m)) => Leaf::Ret(combine(e, m)),
            (Class::Ret(RET_ALLOW), Class::Args) => Leaf::Go(slow_part),
            (Class::Ret(k), Class::Args) => {
                leaf_for(k).ok_or_else(|| format!("enosys's answer {k:#x} has no place"))?
            }
        })
    };
    let runs = runs_of(class)?;
    let mut out = vec![(LD_W_ABS, 0, 0, 0)];
    out.extend(subtree(&runs));
    let mut places = Vec::new();
    let mut at = out.len();
    for p in &parts {
        places.push(at);
        at += p.len();
    }
    resolve(&mut out, 0, &places);
    for (p, &start) in parts.iter_mut().zip(&places) {
        resolve(p, start, &places);
    }
    let guard_at = places[usize::try_from(guard_part).map_err(|e| e.to_string())?];
    for p in parts {
        out.extend(p);
    }
    if out.iter().any(|i| place(i).is_some()) {
        return Err("a jump was left unresolved".into());
    }
    Ok((out, guard_at))
}

/// Fails unless `old` and `new` return the same action for every call number up to past the
/// table (and the edges above it), from x86_64 and from two other architectures, with
/// arguments made of every constant either program compares against (and its neighbours),
/// in every argument position, as either half of the 64-bit value.
pub fn check_same(old: &[Insn], new: &[Insn]) -> Result<(), String> {
    check_against(
        &[old],
        &|call| run(old, call, true),
        new,
        "the allowlist answers",
    )
}

/// Fails unless `merged` returns, for every call [`check_same`] tries (arguments built from
/// the constants of all three programs, swept wherever any of them reads arguments), what
/// the kernel returns with `enosys` installed and then `main` (both as installed, the x32
/// guard in front of `main`): `combine(enosys(call), main(call))`. Where both filters read
/// a call's arguments, also every argument set built from `enosys`'s constants laid over
/// every one built from `main`'s, so an answer that needs both filters' conditions at once
/// is tried too.
pub fn check_merged(enosys: &[Insn], main: &[Insn], merged: &[Insn]) -> Result<(), String> {
    let two = |call: &Call| -> Result<Option<u32>, String> {
        match (run(enosys, call, true)?, run(main, call, true)?) {
            (Some(e), Some(m)) => Ok(Some(combine(e, m))),
            _ => Err(format!("a filter did not decide {call:x?}")),
        }
    };
    check_against(&[enosys, main], &two, merged, "the two filters answer")?;
    let (from_enosys, from_main) = (argument_sets(&[enosys]), argument_sets(&[main]));
    for nr in (0..NR_SPAN + 64).chain([u32::MAX]) {
        if classify(enosys, nr)? != Class::Args || classify(main, nr)? != Class::Args {
            continue;
        }
        for e in &from_enosys {
            for m in &from_main {
                let mut args = *m;
                for (a, &v) in args.iter_mut().zip(e) {
                    if v != 0 {
                        *a = v;
                    }
                }
                let call = Call {
                    nr,
                    arch: ARCH_X86_64,
                    ip: 0,
                    args,
                };
                let (a, b) = (two(&call)?, run(merged, &call, true)?);
                if a != b {
                    return Err(format!(
                        "the dispatched filter answers {b:x?} where the two filters answer \
                         {a:x?}, for {call:x?}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Argument sets made of every constant `programs` compare against (and its neighbours), one
/// argument at a time, in every position, as either half of the 64-bit value; all zeros and
/// all ones first.
fn argument_sets(programs: &[&[Insn]]) -> Vec<[u64; 6]> {
    let mut constants: Vec<u32> = programs
        .iter()
        .flat_map(|p| p.iter())
        .filter(|i| matches!(i.0, JEQ_K | JGT_K | JGE_K | JSET_K | AND_K))
        .flat_map(|i| [i.3, i.3.wrapping_add(1), i.3.wrapping_sub(1)])
        .chain([0, 1, u32::MAX])
        .collect();
    constants.sort_unstable();
    constants.dedup();
    let mut argument_sets = vec![[0u64; 6], [u64::MAX; 6]];
    for &c in &constants {
        for (shift, rest) in [(0, 0u64), (32, 0), (0, u64::MAX << 32)] {
            for i in 0..6 {
                let mut args = [0u64; 6];
                args[i] = (u64::from(c) << shift) | rest;
                argument_sets.push(args);
            }
        }
    }
    argument_sets
}

type Reference<'a> = dyn Fn(&Call) -> Result<Option<u32>, String> + 'a;

/// The sweep of [`check_same`] and [`check_merged`]: `new` against `reference`, with argument
/// sweeps built from the constants of `programs` and `new`, on the numbers any of them
/// decides by its arguments.
fn check_against(
    programs: &[&[Insn]],
    reference: &Reference<'_>,
    new: &[Insn],
    what: &str,
) -> Result<(), String> {
    let all: Vec<&[Insn]> = programs.iter().copied().chain([new]).collect();
    let argument_sets = argument_sets(&all);
    let numbers = (0..NR_SPAN + 64).chain([0x3fff_ffff, 0x4000_0000, 0x4000_0001, u32::MAX]);
    for nr in numbers {
        // Numbers decided without their arguments need no argument sweep.
        let mut reads_args = false;
        for p in &all {
            reads_args |= classify(p, nr)? == Class::Args;
        }
        for arch in [ARCH_X86_64, 0x4000_0003, 0] {
            let sweep = arch == ARCH_X86_64 && reads_args;
            let sets = if sweep {
                &argument_sets[..]
            } else {
                &argument_sets[..2]
            };
            for args in sets {
                let call = Call {
                    nr,
                    arch,
                    ip: 0,
                    args: *args,
                };
                let (a, b) = (reference(&call)?, run(new, &call, true)?);
                if a != b {
                    return Err(format!(
                        "the dispatched filter answers {b:x?} where {what} {a:x?}, for {call:x?}"
                    ));
                }
            }
        }
    }
    Ok(())
}
