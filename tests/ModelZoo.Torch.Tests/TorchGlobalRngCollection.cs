namespace ModelZoo.Torch.Tests;

/// <summary>
/// Tests that rely on torch's process-wide random generator (manual_seed, then expect the same numbers) run alone:
/// xunit runs test classes in parallel, and any other class that initialises weights draws from the same generator
/// in between, so "same seed, same losses" failed whenever the architecture tests ran beside it.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchGlobalRngCollection
{
    public const string Name = "torch global RNG";
}
