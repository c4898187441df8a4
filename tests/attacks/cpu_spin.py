# attack: spin the CPU forever
# expect: timeout_cpu
# runner-args: --cpu-time 1 --wall-time 20
while True:
    pass
