# chunkflow 1.2.0's own tests run in their own pytest process (test_upstream120.py), not in ours
collect_ignore = ["upstream120"]
