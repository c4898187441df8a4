# attack: flood itself with signals (handled and queued realtime ones) to starve or confuse the supervisor
# expect: ok
import os
import signal

count = 0


def handler(signum, frame):
    global count
    count += 1


signal.signal(signal.SIGUSR1, handler)
signal.signal(signal.SIGRTMIN, handler)
pid = os.getpid()
for _ in range(20_000):
    os.kill(pid, signal.SIGUSR1)
    os.kill(pid, signal.SIGRTMIN)
print("delivered", count > 0)
