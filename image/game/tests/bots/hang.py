"""Never answers: sleeps (without reading its input) until it is killed."""
import time

time.sleep(600)
