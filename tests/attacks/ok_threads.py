# attack: none; eight threads with a lock, a queue and a barrier must run (clone with CLONE_THREAD is allowed)
# expect: ok
# stdout: total=1600000 items=8000 barrier=8
import queue
import threading

N = 8
lock = threading.Lock()
barrier = threading.Barrier(N)
q = queue.Queue()
state = {"total": 0, "passed": 0}


def work(k):
    local = 0
    for i in range(100_000):
        local += 4 if i % 2 else 0
    with lock:
        state["total"] += local
    for i in range(1000):
        q.put((k, i))
    barrier.wait()
    with lock:
        state["passed"] += 1


threads = [threading.Thread(target=work, args=(k,)) for k in range(N)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"total={state['total']} items={q.qsize()} barrier={state['passed']}")
