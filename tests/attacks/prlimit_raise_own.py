# attack: lift its own CPU and address-space limits with setrlimit (prlimit64 with a new limit)
# expect: policy_violation
# violation: prlimit64(0, 0,
import resource
import sys

print("own limits readable:", resource.getrlimit(resource.RLIMIT_CPU), flush=True)
resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
print("ESCAPED: setrlimit succeeded")
sys.exit(42)
