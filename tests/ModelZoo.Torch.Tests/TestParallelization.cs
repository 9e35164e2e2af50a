// libtorch has one global random generator. Trainer seeds it (torch.random.manual_seed) and then draws the model's
// initial weights from it, so any test that builds a model on another thread in between changes those weights:
// TrainerTests.SameSeed_GivesTheSameLosses failed that way once the architecture and catalogue tests grew. Test
// classes therefore run one at a time; libtorch's intra-op threads already use every core of the 2-core machines.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
