"""Reads the first observation, then writes 10 MB without a newline and hangs."""
import os
import time

os.read(0, 65536)
data = b"x" * (10 * 1024 * 1024)
while data:
    data = data[os.write(1, data):]
time.sleep(600)
