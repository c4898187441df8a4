# attack: dereference NULL through ctypes
# expect: signaled
# signal: SIGSEGV
import ctypes

ctypes.string_at(0)
