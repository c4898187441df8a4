# attack: abort() (tgkill to itself, allowed) must be reported as signaled, not as a policy violation
# expect: signaled
# signal: SIGABRT
import os

os.abort()
