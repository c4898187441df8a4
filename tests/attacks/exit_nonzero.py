# attack: none; an uncaught exception must be a runtime_error with the exit status and the last error line
# expect: runtime_error
# exit-code: 1
# stderr-contains: ZeroDivisionError
print(1 / 0)
