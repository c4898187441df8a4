# attack: flood standard error through buffered print()
# expect: output_limit
# check: stderr-full
import sys

line = "E" * 1000
while True:
    print(line, file=sys.stderr)
