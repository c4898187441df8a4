//! Classic BPF as the seccomp filters use it: the instruction, the few opcodes the compiled
//! policy contains, and an emulator of `seccomp_data` calls through a program. The build's
//! tree and merge (`dispatch.rs`) classify call numbers with it, and its proofs run the old and
//! the new programs side by side on it. It fails on anything else rather than guess, so it can
//! never quietly differ from the kernel's interpreter.

/// One classic BPF instruction: (code, jt, jf, k).
pub type Insn = (u16, u8, u8, u32);

pub const LD_W_ABS: u16 = 0x20;
pub const RET_K: u16 = 0x06;
pub const JA: u16 = 0x05;
pub const JEQ_K: u16 = 0x15;
pub const JGT_K: u16 = 0x25;
pub const JGE_K: u16 = 0x35;
pub const JSET_K: u16 = 0x45;
pub const AND_K: u16 = 0x54;

/// `AUDIT_ARCH_X86_64`, the only architecture the filters let through.
pub const ARCH_X86_64: u32 = 0xC000_003E;

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
