using ModelZoo.Torch.Pipeline;

namespace ModelZoo.Torch.Training.Plan;

/// <summary>The batches of a plan's context: none. A strategy that reaches for data while planning did not honour
/// <see cref="RunContext.Planning"/>, and its plan fails with this message rather than reading anything.</summary>
public sealed class PlanDataSource(string strategy) : IBatchSource
{
    public Prefetcher<TrainingBatch> Train(int[] order, int batchSize, int epoch, int seed, bool augment, CancellationToken ct) => throw Refused();
    public Prefetcher<TrainingBatch> Eval(int[] indices, int batchSize, CancellationToken ct) => throw Refused();
    public string Fingerprint => "plan";
    public void Dispose() { }

    InvalidOperationException Refused() => new(
        $"Strategy '{strategy}' reads data while it sets up, and cannot plan without it: its Setup and BeginEpoch must skip their " +
        "passes over data when RunContext.Planning is set.");
}
