// libtorch's intra-op thread count is process-wide: the benchmark commands set it for their measurement and restore
// it, and `pretrain glyphs` records the count it trained with in the entry's recipe. Run in parallel, a benchmark
// test's temporary setting leaked into a pretraining test's recipe (`--threads 1` instead of 2), so test classes
// here run one at a time, as in ModelZoo.Torch.Tests.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
