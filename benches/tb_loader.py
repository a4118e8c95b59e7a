"""Loads an event file with TensorBoard's own EventAccumulator, keeping every
scalar, and prints the wall time and the number of scalars.
Usage: python3 benches/tb_loader.py PATH"""
import sys
import time

from tensorboard.backend.event_processing import event_accumulator

t = time.perf_counter()
acc = event_accumulator.EventAccumulator(sys.argv[1], size_guidance={event_accumulator.SCALARS: 0})
acc.Reload()
n = sum(len(acc.Scalars(tag)) for tag in acc.Tags()["scalars"])
print(f"{time.perf_counter() - t:.3f} {n}")
