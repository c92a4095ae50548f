"""In-memory fakes of the outside world for core tests and benchmarks."""
