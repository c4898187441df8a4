# attack: one allocation far above the address-space backstop (3 GiB under a 128 MiB limit), which the kernel refuses; catch the MemoryError and exit 0 hoping for ok (it was runtime_error or ok, never memory_limit)
# expect: memory_limit
# memory-signal: address_space
# reason-contains: 3.0GiB in one allocation
import sys

try:
    b = bytearray(3 << 30)
except MemoryError:
    print("caught MemoryError", flush=True)
    sys.exit(0)
print("ESCAPED: allocated", len(b))
sys.exit(42)
