# attack: ignore SIGXCPU (the RLIMIT_CPU soft-limit warning) and keep spinning
# expect: timeout_cpu
# runner-args: --cpu-time 1 --wall-time 20
import signal

signal.signal(signal.SIGXCPU, signal.SIG_IGN)
while True:
    pass
