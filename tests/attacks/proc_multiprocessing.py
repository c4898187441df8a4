# attack: start a multiprocessing.Process (fork start method)
# expect: policy_violation
# violation: clone(flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD)
import multiprocessing
import sys


def child():
    print("ESCAPED: child process ran", flush=True)


if __name__ == "__main__":
    p = multiprocessing.get_context("fork").Process(target=child)
    p.start()
    p.join()
    print("ESCAPED: process started, exit code", p.exitcode)
    sys.exit(42)
