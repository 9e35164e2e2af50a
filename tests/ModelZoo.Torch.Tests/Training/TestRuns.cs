using System.Text.Json.Nodes;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Strategies;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Pipeline;
using ModelZoo.Torch.Training;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>A strategy with its run context around a model, for unit tests of what a strategy freezes and trains.</summary>
internal static class TestRuns
{
    public static (RunContext Run, TrainingStrategy Strategy) Prepare(ZooModel model, string strategyId, JsonObject? options = null, HyperParameters? h = null)
    {
        var description = StrategyRegistry.Default.Find(strategyId) ?? throw new ArgumentException(strategyId);
        var (read, problems) = StrategyOptionsReader.Read(description, options);
        if (read is null) throw new ArgumentException(string.Join(" ", problems.Select(p => p.Message)));
        var strategy = StrategyRegistry.Default.Create(description, read);
        var job = TrainerTests.Job(h ?? new HyperParameters(), strategyId, options);
        var run = new RunContext
        {
            Job = job, Model = model, Architecture = ArchitectureRegistry.Default.Get(model.Architecture), Device = CPU,
            Progress = new Recorder(), Cancellation = CancellationToken.None, PipelineOptions = new PipelineOptions(),
            Data = new NoData(), TrainIndices = [], ValidationIndices = [], TestIndices = [], ClassNames = ["a", "b", "c"],
        };
        return (run, strategy);
    }

    /// <summary>Same shape and every element equal (TorchSharp's <c>equal</c> is element-wise).</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var eq = a.eq(b);
        using var all = eq.all();
        return all.item<bool>();
    }

    /// <summary>Keeps every event a run reports, and lets a test act on a step or an epoch as it happens.</summary>
    public sealed class Recorder(Action<StepProgress>? onStep = null, Action<EpochMetrics>? onEpoch = null) : IRunProgress
    {
        public List<StatusChange> Statuses { get; } = [];
        public List<StepProgress> Steps { get; } = [];
        public List<EpochMetrics> Epochs { get; } = [];
        public void Status(StatusChange status) => Statuses.Add(status);
        public void Step(StepProgress step) { Steps.Add(step); onStep?.Invoke(step); }
        public void Epoch(EpochMetrics epoch) { Epochs.Add(epoch); onEpoch?.Invoke(epoch); }
    }

    sealed class NoData : IBatchSource
    {
        public string Fingerprint => "none";
        public Prefetcher<TrainingBatch> Train(int[] order, int batchSize, int epoch, int seed, bool augment, CancellationToken ct) => throw new NotSupportedException();
        public Prefetcher<TrainingBatch> Eval(int[] indices, int batchSize, CancellationToken ct) => throw new NotSupportedException();
        public void Dispose() { }
    }
}
