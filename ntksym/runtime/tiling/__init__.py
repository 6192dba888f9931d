"""Kernels larger than one call: tiles, devices, processes and where the tiles go.

  schedule.py   choose: one call, tiles on one device, or tiles sharded over several
  plan.py       square tiles whose working set fits in memory
  evaluate.py   evaluate tile by tile (or sharded: sharding.py) into a sink
  sinks.py      where tiles go: arrays in memory or `.npy` files written tile by tile
  resumable.py  an output folder several processes fill together and a restart completes
"""
