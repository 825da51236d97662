"""The pieces of `make bench` (bench/bench_pipeline.py): each module measures one thing."""
