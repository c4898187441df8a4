# attack: none; asyncio (epoll, a socketpair self-pipe, call_later, queues, tasks) must run
# expect: ok
# stdout: [0, 1, 4, 9, 16, 25, 36, 49] produced=8 timeouts=1
import asyncio


async def square(q, out):
    while True:
        n = await q.get()
        await asyncio.sleep(0.001 * (8 - n))
        out.append(n * n)
        q.task_done()


async def main():
    q = asyncio.Queue()
    out = []
    workers = [asyncio.create_task(square(q, out)) for _ in range(3)]
    for n in range(8):
        await q.put(n)
    await q.join()
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    timeouts = 0
    try:
        await asyncio.wait_for(asyncio.sleep(10), 0.01)
    except asyncio.TimeoutError:
        timeouts += 1
    print(sorted(out), f"produced={len(out)}", f"timeouts={timeouts}")


asyncio.run(main())
