"""Writes a TensorBoard event file of N scalars (10 tags x N/10 steps) with
TensorBoard's own writer, as PyTorch's SummaryWriter.add_scalar would.
Usage: python3 benches/gen_tfevents.py OUT_DIR [N=1000000]"""
import math
import sys

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
tags = ["train/loss", "test/loss", "train/acc", "test/acc", "sc/collapsed",
        "norm/grad", "lr", "extra/a", "extra/b", "extra/c"]
w = EventFileWriter(out, max_queue_size=1000, flush_secs=60)
t0 = 1764412345.0
for step in range(n // len(tags)):
    for i, tag in enumerate(tags):
        v = (1 + i) * math.exp(-step / 2e4) + 1e-3 * ((step * 7919 + i) % 1000)
        value = summary_pb2.Summary.Value(tag=tag, simple_value=v)
        w.add_event(event_pb2.Event(wall_time=t0 + step * 0.01, step=step,
                                    summary=summary_pb2.Summary(value=[value])))
w.close()
