# attack: spin in several threads so CPU time of the process grows faster than wall time
# expect: timeout_cpu
# runner-args: --cpu-time 1 --wall-time 20
import threading


def spin():
    while True:
        pass


for _ in range(4):
    threading.Thread(target=spin, daemon=True).start()
spin()
