//! The main filter's front: a binary search on the system call number, built at compile time.
//!
//! seccompiler compiles the allowlist as one linear chain, a comparison per listed call. The
//! kernel pays for that chain twice. When the filter is installed, it works out for every call
//! number whether the filter allows that call whatever its arguments (seccomp's action cache):
//! it emulates the program from its first instruction once per number, so every number the
//! allowlist does not list walks the whole chain. That was 0.3 ms of every sandbox's start,
//! a fifth of the runner's cost over a bare fork and exec (perf, 2026-11-26). And at run time,
//! every call the cache cannot answer walks the chain again.
//!
//! So the filter starts with a decision tree instead. Call numbers are split into runs that
//! the allowlist treats alike:
//! - allowed whatever the arguments: `ret ALLOW`;
//! - not listed: the mismatch action;
//! - allowed only with some arguments: a jump to a second seccompiler program compiled from
//!   those calls' rules alone, which decides exactly as the full one does.
//!
//! Both the install-time emulation and a call the cache misses then take about eight
//! comparisons. What the filter decides does not change. [`check_same`] runs the old and the
//! new program side by side, on every number and on arguments built from every constant the
//! policy compares against, and the build fails on any difference.

/// One classic BPF instruction: (code, jt, jf, k).
pub type Insn = (u16, u8, u8, u32);

const LD_W_ABS: u16 = 0x20;
const RET_K: u16 = 0x06;
const JA: u16 = 0x05;
const JEQ_K: u16 = 0x15;
const JGT_K: u16 = 0x25;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;
const AND_K: u16 = 0x54;

/// `AUDIT_ARCH_X86_64`, the only architecture the filters let through.
pub const ARCH_X86_64: u32 = 0xC000_003E;
/// Every number from here up is unassigned on x86_64 and treated as the last run; checked,
/// not assumed (see [`front`]).
const NR_SPAN: u32 = 1024;
/// Marks a jump to the argument-checking program until the tree's length is known.
const TO_SLOW: u32 = u32::MAX;

/// What one call meets, as far as a program can tell from its number alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The program returns this action whatever the arguments.
    Ret(u32),
    /// The program reads the call's arguments (or instruction pointer) before deciding.
    Args,
}

/// The input of one emulated call: `seccomp_data`'s fields.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub nr: u32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

/// Runs `prog` on `call` and returns its action. With `args_known` false, a load of the
/// instruction pointer or an argument ends the run with `None`: the action depends on them.
/// Fails on an instruction the filters do not use or a jump out of the program, so the
/// emulation can never quietly differ from the kernel's.
pub fn run(prog: &[Insn], call: &Call, args_known: bool) -> Result<Option<u32>, String> {
    walk(prog, call, args_known).map(|(action, _)| action)
}

/// [`run`], also counting the instructions it went through: what the kernel's action-cache
/// emulation walks for the call's number when `args_known` is false.
pub fn walk(prog: &[Insn], call: &Call, args_known: bool) -> Result<(Option<u32>, usize), String> {
    let word = |off: u32| -> Result<Option<u32>, String> {
        let half = |v: u64, hi: bool| u32::try_from(if hi { v >> 32 } else { v & 0xffff_ffff });
        let w = match off {
            0 => Ok(call.nr),
            4 => Ok(call.arch),
            _ if !args_known => return Ok(None),
            8 | 12 => half(call.ip, off == 12),
            o if (16..64).contains(&o) && o % 4 == 0 => {
                let i = usize::try_from((o - 16) / 8).map_err(|e| e.to_string())?;
                half(call.args[i], (o - 16) % 8 == 4)
            }
            o => return Err(format!("load outside seccomp_data at offset {o}")),
        };
        w.map(Some).map_err(|e| e.to_string())
    };
    let (mut pc, mut acc) = (0usize, 0u32);
    for steps in 1.. {
        let &(code, jt, jf, k) = prog
            .get(pc)
            .ok_or_else(|| format!("the program runs off its end at {pc}"))?;
        pc += 1;
        match code {
            LD_W_ABS => match word(k)? {
                Some(w) => acc = w,
                None => return Ok((None, steps)),
            },
            RET_K => return Ok((Some(k), steps)),
            JA => pc += usize::try_from(k).map_err(|e| e.to_string())?,
            AND_K => acc &= k,
            JEQ_K | JGT_K | JGE_K | JSET_K => {
                let hit = match code {
                    JEQ_K => acc == k,
                    JGT_K => acc > k,
                    JGE_K => acc >= k,
                    _ => acc & k != 0,
                };
                pc += usize::from(if hit { jt } else { jf });
            }
            other => return Err(format!("instruction {other:#x} at {}", pc - 1)),
        }
    }
    Err("the program never ends".to_owned())
}

/// What `prog` does with call number `nr` from x86_64, judged from the number alone.
pub fn classify(prog: &[Insn], nr: u32) -> Result<Class, String> {
    let call = Call {
        nr,
        arch: ARCH_X86_64,
        ip: 0,
        args: [0; 6],
    };
    Ok(run(prog, &call, false)?.map_or(Class::Args, Class::Ret))
}

/// The front of the main filter: `ld nr`, then a decision tree over the runs of numbers that
/// `listed` (the whole allowlist, compiled) treats alike, then `slow` (the calls whose
/// arguments are checked, compiled alone), where the tree sends exactly those calls. It
/// decides on the number alone, so it belongs after the architecture check (the build's x32
/// guard), which [`check_same`] runs with it.
pub fn front(listed: &[Insn], slow: &[Insn]) -> Result<Vec<Insn>, String> {
    let mut runs: Vec<(u32, Class)> = Vec::new();
    for nr in 0..=NR_SPAN {
        let class = classify(listed, nr)?;
        if runs.last().is_none_or(|&(_, c)| c != class) {
            runs.push((nr, class));
        }
    }
    // The last run must hold for every number above the ones looked at.
    let tail = runs.last().map(|&(_, c)| c);
    for nr in [NR_SPAN + 1, 4096, 0x3fff_ffff, 0x4000_0000, u32::MAX] {
        if Some(classify(listed, nr)?) != tail {
            return Err(format!(
                "call number {nr} is treated unlike {NR_SPAN}: raise NR_SPAN"
            ));
        }
    }
    let mut tree = subtree(&runs);
    let len = tree.len();
    for (i, insn) in tree.iter_mut().enumerate() {
        if insn.0 == JA && insn.3 == TO_SLOW {
            insn.3 = u32::try_from(len - i - 1).map_err(|e| e.to_string())?;
        }
    }
    let mut out = vec![(LD_W_ABS, 0, 0, 0)];
    out.extend(tree);
    out.extend_from_slice(slow);
    Ok(out)
}

/// The tree for `runs` (sorted by their first number, at least one).
fn subtree(runs: &[(u32, Class)]) -> Vec<Insn> {
    if let [(_, class)] = runs {
        return vec![match *class {
            Class::Ret(action) => (RET_K, 0, 0, action),
            Class::Args => (JA, 0, 0, TO_SLOW),
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

/// Fails unless `old` and `new` return the same action for every call number up to past the
/// table (and the edges above it), from x86_64 and from two other architectures, with
/// arguments made of every constant either program compares against (and its neighbours),
/// in every argument position, as either half of the 64-bit value.
pub fn check_same(old: &[Insn], new: &[Insn]) -> Result<(), String> {
    let mut constants: Vec<u32> = [old, new]
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
    let numbers = (0..NR_SPAN + 64).chain([0x3fff_ffff, 0x4000_0000, 0x4000_0001, u32::MAX]);
    for nr in numbers {
        for arch in [ARCH_X86_64, 0x4000_0003, 0] {
            // Numbers decided without their arguments need no argument sweep.
            let sweep = arch == ARCH_X86_64 && classify(old, nr)? == Class::Args;
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
                let (a, b) = (run(old, &call, true)?, run(new, &call, true)?);
                if a != b {
                    return Err(format!(
                        "the dispatched filter answers {b:x?} where the allowlist answers \
                         {a:x?}, for {call:x?}"
                    ));
                }
            }
        }
    }
    Ok(())
}
