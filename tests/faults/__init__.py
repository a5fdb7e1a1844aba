"""Fault tests against real bot processes: crashes, poison input, bad disks, a failing Knowrithm."""
