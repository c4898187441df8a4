# attack: none; files in the --rw scratch: write, read back, append, mkdir, rename, listdir, tempfile, remove
# expect: ok
# args: {scratch}
# stdout: ok 100000 ['a', 'moved.txt'] tmp=True
import os
import sys
import tempfile

scratch = sys.argv[1]
assert os.getcwd() == scratch and os.environ["HOME"] == scratch and os.environ["TMPDIR"] == scratch
path = os.path.join(scratch, "data.bin")
payload = bytes(range(256)) * 390 + b"x" * 160
with open(path, "wb") as f:
    f.write(payload)
    f.flush()
    os.fsync(f.fileno())
with open(path, "rb") as f:
    assert f.read() == payload
with open(path, "ab") as f:
    f.write(b"!")
os.truncate(path, len(payload))
os.mkdir(os.path.join(scratch, "a"))
os.rename(path, os.path.join(scratch, "moved.txt"))
with tempfile.TemporaryDirectory() as d:
    tmp_ok = os.path.dirname(d) == scratch
    with tempfile.NamedTemporaryFile(dir=d) as t:
        t.write(b"t")
print("ok", os.path.getsize(os.path.join(scratch, "moved.txt")), sorted(os.listdir(scratch)), f"tmp={tmp_ok}")
