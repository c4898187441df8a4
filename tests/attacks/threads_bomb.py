# attack: start threads until something gives (threads are allowed; they must be bounded without harming the runner)
# expect: ok
import threading

stop = threading.Event()
threads = []
try:
    for _ in range(10_000):
        t = threading.Thread(target=stop.wait)
        t.start()
        threads.append(t)
except RuntimeError as e:
    print(f"blocked: can't start more threads after {len(threads)}: {e}")
else:
    print(f"started {len(threads)} threads")
stop.set()
for t in threads:
    t.join()
