"""The fault suite's figures: real bot processes through crashes, poison input and bad disks."""
